"""Building the site: plan the pages, freeze what has not changed, run the notebooks, publish.

runner    ``REPORTS``, ``plan``, fingerprints and freeze, the worker pool, the DWP return, ``build``
"""
