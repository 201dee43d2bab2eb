-- perfcore's one-process pandoc writer: the page's markdown read once, written as HTML *and* Typst.
--
-- Why: reading the markdown is the largest part of a pandoc run, and each extra run also pays for
-- writing and reading the document as JSON and for starting pandoc. perfcore.render.pandoc passes
-- the runs it wants (what `pandoc --to FORMAT ...` would have been given: a template, the Lua filter,
-- metadata, variables, contents options) as JSON in the environment variable PERFCORE_PANDOC_RUNS;
-- this writer applies each run's filter to its own copy of the document, with FORMAT set as pandoc
-- sets it for that format, writes it, and joins the outputs with the separator the caller chose
-- (random per call, so no text on the page can forge it).

local runs = pandoc.json.decode(os.getenv("PERFCORE_PANDOC_RUNS"), false)

local function read_file(path)
  local handle = assert(io.open(path, "r"))
  local text = handle:read("a")
  handle:close()
  return text
end

-- The filter file as pandoc would run it for `format`: its globals (FORMAT, and the functions it defines)
-- in an environment of its own, so each run sees only its own.
local function load_filters(path, format)
  local environment = setmetatable({ FORMAT = format }, { __index = _G })
  local filters = assert(loadfile(path, "t", environment))()
  if filters == nil then -- a filter file that only defines global functions is one filter
    filters = { environment }
  elseif filters.t == nil and filters[1] == nil then
    filters = { filters }
  end
  return filters
end

local function written(doc, run)
  doc = doc:clone()
  for key, value in pairs(run.metadata or {}) do
    doc.meta[key] = value
  end
  for _, path in ipairs(run.filters or {}) do
    for _, filter in ipairs(load_filters(path, run.format)) do
      doc = doc:walk(filter)
    end
  end
  local options = {
    columns = 10000,
    section_divs = run.section_divs or false,
    table_of_contents = run.toc or false,
    variables = run.variables or {},
  }
  if run.toc_depth then
    options.toc_depth = run.toc_depth
  end
  if run.template then
    options.template = pandoc.template.compile(read_file(run.template), run.template)
  end
  return pandoc.write(doc, run.format, options)
end

function Writer(doc, opts)
  local outputs = {}
  for _, run in ipairs(runs.runs) do
    outputs[#outputs + 1] = written(doc, run)
  end
  return table.concat(outputs, runs.separator)
end
