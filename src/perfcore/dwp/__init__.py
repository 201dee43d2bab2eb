"""DWP's monthly electronic return: per council, an XML document valid against ``schema/dwp-return-1.0.xsd``,
the council's report PDF and a manifest of both.

    returns    the return built from the warehouse (figures from ``warehouse.indicators``), validated, written
    commands   ``perfcore dwp-return``
"""
