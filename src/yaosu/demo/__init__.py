"""The demo city 示范市: a synthetic city loaded by `yaosu up` into an empty database."""
