"""A local API gateway: the APIs deployed on the local cloud, served on 127.0.0.1.

    served = serve_apis("http://127.0.0.1:4566")
    for api in served:
        print(api.kind, api.name, api.url)
    ...
    for api in served:
        api.stop()

or ``python -m tools.localcloud.gateway --endpoint-url http://127.0.0.1:4566``.
See ``server.py`` for what is enforced and what is not.
"""

from tools.localcloud.gateway.server import Gateway, ServedApi, serve_apis

__all__ = ["Gateway", "ServedApi", "serve_apis"]
