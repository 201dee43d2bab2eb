"""Configuration: the files under ``parameters/`` read and validated once.

    parameters   the consortium (members) and the indicator framework
"""
