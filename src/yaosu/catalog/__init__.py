"""Catalog 目录: data resources with national catalog metadata, versions, registration codes,
search, census 普查/台账 and demand lists 供需清单."""
