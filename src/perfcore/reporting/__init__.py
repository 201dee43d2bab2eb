"""Reporting: what the notebooks compose. ``report``, ``charts`` and ``display`` are what notebooks import.

report     the facade notebooks call: every name below, from one import
data       ``load`` (the warehouse read once) and ``ReportData``; figures; the SQL reads of the warehouse's history
analysis   perfcore.analytics composed for pages (ranks, alerts, SPC, funnels, ...), or ``NotYet`` saying why not
tables     the tables pages show, formatted; ranks and quartiles are the library's
narrative  sentences about the figures, and the framework in words
commentary the manager's commentary for the month; open actions, overdue ones marked; overdue across members
onboarding each council's onboarding steps and whether its feeds arrive on time
pages      what a council page shows from other councils' data: drawn and fingerprinted from one object
wording    words shared by sentences, tiles, tables and charts (thresholds, ranks, quartiles, age bands)
charts     Altair figures with titles, text alternatives and data tables
display    what a notebook cell emits: tables, charts, tiles, callouts, as the renderer reads them
"""
