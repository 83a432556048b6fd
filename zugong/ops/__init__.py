"""Operating the platform: projection status and rebuilds, dead letters, store verification.

Everything here works over the registries in ``zugong.runtime`` (SERVICES, PROJECTIONS), so a
new service or projection is covered without changes. The functions return plain data; the
``zugong`` command (``zugong.ops.cli``) renders it.
"""
