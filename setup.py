"""Only the optional C helper is declared here; everything else is in pyproject.toml.

``yaosu.classification._hmac`` computes keyed pseudonyms (HMAC-SHA256, with OpenSSL's libcrypto)
for a whole Arrow string array at once. If it cannot be built (no compiler or no OpenSSL
headers), installation goes on and masking computes the HMAC in SQL instead, about four times
slower; `yaosu.classification.masking.native_hmac_available()` tells which one runs.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "yaosu.classification._hmac",
            sources=["src/yaosu/classification/_hmac.c"],
            libraries=["crypto"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
