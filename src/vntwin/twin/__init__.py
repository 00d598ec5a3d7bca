"""The territorial twin: every spatial layer fused onto one H3 grid and the
administrative units, queryable at any place.
"""
