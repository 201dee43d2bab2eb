"""Configuration: every YAML file perfcore reads, read and validated once.

reader        one reader: a declarative table of keys per file, errors naming file and key
parameters    consortium.yaml (members) and framework.yaml (indicators)
thresholds    thresholds.yaml (how the analytics are tuned)
peer_groups   peer_groups.yaml (which councils are compared with which)
initiatives   initiatives.yaml (improvement initiatives whose impact is estimated)
site          _quarto.yml (the site's title, navigation and formats)
"""
