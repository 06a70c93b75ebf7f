"""The fixed C kernels (the same for every deal): ``collateral.c`` (the
collateral projection) and ``analytics.c`` (WAL, yield, duration, discount
margin), with their headers. Shipped as package data, built by
``interpreter.native.fixed``; the libraries built from them are kept here
when this folder is this user's (a checkout, a user's install)."""
