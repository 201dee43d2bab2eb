"""perfcore: performance management and reporting for councils' Housing Benefit services.

Importing the package does no work; each module imports its heavy
dependencies (lxml, DuckDB, pandas, statsmodels, altair) when first used.
ARCHITECTURE.md maps the modules onto the pipeline from submitted file to
published page.
"""

__version__ = "0.1.0"
