-- perfcore's pandoc filter: one markdown document, two formats (HTML and Typst).
--
-- * the page title is the first level-1 heading if the notebook starts with one,
--   else metadata `fallback-title`; headings below it are renumbered from 2 with
--   no skipped levels (WCAG 1.3.1: headings in order);
-- * `.chart-data` blocks become a <details> disclosure in HTML and a table
--   right under the chart in the PDF;
-- * `.table-download` blocks become a link to the table's CSV in HTML, nothing in Typst;
-- * `.callout`, `.tiles`/`.tile` and the tile spans get a landmark-friendly
--   HTML structure and Typst functions defined in report.typ;
-- * figures get their text alternative in Typst too (pandoc drops it);
-- * links to a figure's explanation (`.explain`, `.explained`) are the web page's only;
-- * HTML tables are wrapped in a focusable scroll region for narrow screens;
-- * Quarto's `.content-visible` / `.content-hidden` with `when-format` work;
-- * every id is used once on the page (see unique_ids).

local is_html = FORMAT:match("html") ~= nil
local is_typst = FORMAT:match("typst") ~= nil

local function typst_string(text)
  text = text:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("[\r\n]+", " ")
  return '"' .. text .. '"'
end

local function typst_content(inlines)
  local out = pandoc.write(pandoc.Pandoc({ pandoc.Plain(inlines) }), "typst")
  return "[" .. out:gsub("%s+$", "") .. "]"
end

local function has_class(el, name)
  for _, class in ipairs(el.classes) do
    if class == name then return true end
  end
  return false
end

local function class_with_prefix(el, prefix)
  for _, class in ipairs(el.classes) do
    if class:sub(1, #prefix) == prefix then return class:sub(#prefix + 1) end
  end
  return nil
end

local function raw(text)
  return pandoc.RawBlock(is_typst and "typst" or "html", text)
end

local function wrap(open, blocks, close)
  local out = pandoc.List({ raw(open) })
  out:extend(blocks)
  out:insert(raw(close))
  return out
end

-- Quarto's conditional content ------------------------------------------------------

local function visible_here(div)
  local when = div.attributes["when-format"]
  if not when then return nil end
  local matches = (when == "html" and is_html) or ((when == "typst" or when == "pdf") and is_typst)
  if has_class(div, "content-visible") then return matches end
  if has_class(div, "content-hidden") then return not matches end
  return nil
end

-- Blocks ------------------------------------------------------------------------------

-- A download link's words: the same visible words under every table or chart; the title,
-- read by screen readers only, says which one (WCAG 2.4.9: the link alone names its purpose).
local function link_text(words, div)
  local text = pandoc.List({ pandoc.Str(words) })
  local title = div.attributes["data-title"]
  if title and title ~= "" then
    text:insert(pandoc.Span({ pandoc.Str(": " .. title) }, { class = "visually-hidden" }))
  end
  return text
end

local function chart_data(div)
  if is_typst then return div.content end
  local blocks = pandoc.List(div.content)
  local csv = div.attributes["data-csv"]
  if csv then
    blocks:insert(pandoc.Para({ pandoc.Link(link_text("Download this data (CSV file)", div), csv, "", { download = "" }) }))
  end
  return wrap('<details class="chart-data"><summary>Show the data in this chart as a table</summary>', blocks, "</details>")
end

-- A link to a table's CSV, on the web page only (the PDF has no files beside it).
local function table_download(div)
  if is_typst then return {} end
  local csv = div.attributes["data-csv"]
  if not csv then return {} end
  local link = pandoc.Link(link_text("Download this table (CSV)", div), csv, "", { download = "" })
  return pandoc.Para({ pandoc.Span({ link }, { class = "table-download" }) })
end

local function callout(div)
  local kind = class_with_prefix(div, "callout-") or "note"
  local title = div.attributes["title"] or (kind:sub(1, 1):upper() .. kind:sub(2))
  if is_typst then
    local open = "#callout(kind: " .. typst_string(kind) .. ", title: " .. typst_string(title) .. ")["
    return wrap(open, div.content, "]")
  end
  local blocks = pandoc.List({ pandoc.Para({ pandoc.Strong(title) }) })
  blocks[1] = pandoc.Div(blocks[1], { class = "callout-title" })
  blocks:extend(div.content)
  return pandoc.Div(blocks, { class = "callout callout-" .. kind, role = "note" })
end

local function tile(div)
  local rag = class_with_prefix(div, "rag-") or "none"
  if is_typst then
    return wrap("tile(rag: " .. typst_string(rag) .. ")[", div.content, "],")
  end
  div.attributes["role"] = "listitem"
  return div
end

local function tiles(div)
  if is_typst then return wrap("#tiles(", div.content, ")") end
  div.attributes["role"] = "list"
  div.attributes["aria-label"] = div.attributes["aria-label"] or "Headline indicators"
  return div
end

function Div(div)
  local visible = visible_here(div)
  if visible ~= nil then return visible and div.content or {} end
  if has_class(div, "chart-data") then return chart_data(div) end
  if has_class(div, "table-download") then return table_download(div) end
  if has_class(div, "callout") then return callout(div) end
  if has_class(div, "tiles") then return tiles(div) end
  if has_class(div, "tile") then return tile(div) end
  if has_class(div, "explained") and is_typst then return {} end
  return nil
end

-- A figure's link to its explanation is the web site's: the PDF keeps the figure, not the link.
function Link(link)
  if is_typst and has_class(link, "explain") then return link.content end
  return nil
end

-- Typst never breaks inside a word, so a long reference or file name without
-- spaces would run off the page: give it a break opportunity (a zero-width
-- space, invisible and left out of the PDF's text) every BREAK_EVERY characters.
local BREAK_EVERY = 24

function Str(str)
  if not is_typst or utf8.len(str.text) == nil or utf8.len(str.text) <= BREAK_EVERY then return nil end
  local pieces, count, current = {}, 0, {}
  for _, code in utf8.codes(str.text) do
    current[#current + 1] = utf8.char(code)
    count = count + 1
    if count % BREAK_EVERY == 0 then
      pieces[#pieces + 1] = table.concat(current)
      current = {}
    end
  end
  if #current > 0 then pieces[#pieces + 1] = table.concat(current) end
  return pandoc.Str(table.concat(pieces, "\u{200B}"))
end

function Span(span)
  if not is_typst then return nil end
  local name = nil
  for _, class in ipairs(span.classes) do
    if class:match("^tile%-") then name = class end
  end
  if not name then return nil end
  local out = pandoc.List({ pandoc.RawInline("typst", "#" .. name .. "[") })
  out:extend(span.content)
  out:insert(pandoc.RawInline("typst", "]"))
  return out
end

local function first_image(figure)
  local found = nil
  figure:walk({ Image = function(img) found = found or img end })
  return found
end

function Figure(figure)
  if not is_typst then
    figure.classes:insert("chart")
    return figure
  end
  local img = first_image(figure)
  if not img then return nil end
  local alt = pandoc.utils.stringify(img.caption)
  if alt == "" then alt = pandoc.utils.stringify(figure.caption.long) end
  local caption = pandoc.utils.blocks_to_inlines(figure.caption.long)
  local code = "#figure(image(" .. typst_string(img.src) .. ", alt: " .. typst_string(alt)
    .. ", width: 100%), caption: " .. typst_content(caption) .. ")"
  if figure.identifier ~= "" then code = code .. " <" .. figure.identifier .. ">" end
  return pandoc.RawBlock("typst", code)
end

-- In Typst, "auto" columns take their natural width, so a column of sentences
-- beside several short columns is squeezed to a sliver. Columns whose cells
-- hold long text share the width left over; short columns stay "auto".
local LONG_TEXT = 40

local function longest_cells(tbl)
  local longest = {}
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      for i, cell in ipairs(row.cells) do
        local n = utf8.len(pandoc.utils.stringify(cell.contents)) or 0
        if n > (longest[i] or 0) then longest[i] = n end
      end
    end
  end
  return longest
end

local function typst_table(tbl)
  local longest, long = longest_cells(tbl), 0
  for i = 1, #tbl.colspecs do
    if (longest[i] or 0) > LONG_TEXT then long = long + 1 end
  end
  if long == 0 then return nil end
  for i, spec in ipairs(tbl.colspecs) do
    if (longest[i] or 0) > LONG_TEXT then
      tbl.colspecs[i] = { spec[1], 0.42 / long }
    end
  end
  return tbl
end

function Table(tbl)
  if is_typst then return typst_table(tbl) end
  if not is_html then return nil end
  local name = pandoc.utils.stringify(tbl.caption.long)
  if name == "" then name = "Table" end
  -- a scrollable region must be reachable by keyboard (WCAG 2.1.1) and named
  -- attributes as a list of pairs: a Lua table's keys come out in a different order on every run,
  -- and a page must be the same bytes each time it is built from the same notebook
  local attributes = { { "tabindex", "0" }, { "role", "region" }, { "aria-label", name } }
  return pandoc.Div({ tbl }, pandoc.Attr("", { "table-scroll" }, attributes))
end

-- Document: title and heading order -------------------------------------------------

local function take_title(doc)
  local first = doc.blocks[1]
  if first and first.t == "Header" and first.level == 1 then
    doc.meta.title = first.content
    doc.blocks:remove(1)
  elseif not doc.meta.title and doc.meta["fallback-title"] then
    doc.meta.title = doc.meta["fallback-title"]
  end
end

local function renumber_headings(blocks)
  local lowest = nil
  blocks:walk({ Header = function(h) lowest = math.min(lowest or h.level, h.level) end })
  if not lowest then return blocks end
  local shift, previous = 2 - lowest, 1
  return blocks:walk({
    Header = function(h)
      local level = math.min(h.level + shift, previous + 1)
      level = math.max(level, 2)
      previous = level
      h.level = math.min(level, 6)
      return h
    end,
  })
end

function Pandoc(doc)
  take_title(doc)
  doc.blocks = renumber_headings(doc.blocks)
  return doc
end

-- Ids: each once on the page ------------------------------------------------------------
-- Two elements with one id make the page invalid HTML, and a link to the id (an "On this page" entry) can
-- land on either. display gives tables and charts ids no heading's words make (tbl-, fig-); this is the
-- backstop for what a notebook writes itself: an id the page's shell uses (metadata `shell-ids`, from
-- perfcore.render.html: a heading "Main") or a later duplicate (then with a warning: two tables given one
-- id is a slip in the notebook) gets pandoc's own "-1", "-2" suffix. Headings claim their ids first: the
-- contents list links to them.

local function unique_ids(doc)
  local shell, taken = {}, {}
  if doc.meta["shell-ids"] then
    for id in pandoc.utils.stringify(doc.meta["shell-ids"]):gmatch("%S+") do shell[id] = true end
  end
  local function claim(el)
    local id = el.identifier
    if id == "" then return nil end
    local new, n = id, 0
    while taken[new] or shell[new] do
      n = n + 1
      new = id .. "-" .. n
    end
    taken[new] = true
    if new == id then return nil end
    if taken[id] then
      pandoc.log.warn("the id '" .. id .. "' is used twice on the page: the " .. el.t .. " is given '" .. new .. "'")
    end
    el.identifier = new
    return el
  end
  local function heading(h)
    local renamed = claim(h)
    taken["toc-" .. h.identifier] = true -- pandoc's contents list gives its entries these ids
    return renamed
  end
  doc.blocks = doc.blocks:walk({ Header = heading })
  doc.blocks = doc.blocks:walk({
    Div = claim, Table = claim, Figure = claim, Span = claim, CodeBlock = claim, Code = claim, Image = claim, Link = claim,
  })
  return doc
end

return {
  { Pandoc = unique_ids },
  { Str = Str, Span = Span, Link = Link, Table = Table, Figure = Figure, Div = Div },
  { Pandoc = Pandoc },
}
