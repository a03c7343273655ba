"""Loaded by the moto_server that test/helpers/moto.ts starts (PYTHONPATH points here).

moto's server is threaded and its DynamoDB checks a condition and then writes without a
lock, so two concurrent conditional writes can both succeed (about 1 race in 50 with six
writers): DynamoDB itself never lets that happen, and the ledger and store tests rely on it.
Serializing DynamoDB requests restores the guarantee. Other services keep their threads
(SQS long polls must not block the rest).

moto's EventBridge hands an event to each matching rule target through its input template,
parsing the same eight JSONPath expressions again for every target: jsonpath_ng builds its
parser tables at each parse (~30 ms of CPU), so one PutEvents on a bus with eight rules took
0.3-2 s. Parsed expressions are immutable, so parses are cached (same results, no waiting).
"""

import functools
import importlib.abc
import importlib.util
import sys
import threading

try:
    from moto.moto_server import werkzeug_app
except ImportError:  # another Python, started with this PYTHONPATH: nothing to patch
    werkzeug_app = None

if werkzeug_app is not None:
    _dynamodb = threading.Lock()
    _dispatch = werkzeug_app.DomainDispatcherApplication.__call__

    def _serialized(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with _dynamodb:
                return _dispatch(self, environ, start_response)
        return _dispatch(self, environ, start_response)

    werkzeug_app.DomainDispatcherApplication.__call__ = _serialized


class _CachedJsonPathParse(importlib.abc.MetaPathFinder):
    """On the first import of jsonpath_ng.ext (not at startup: it takes ~100 ms), cache its parse."""

    def find_spec(self, name, path, target=None):
        if name != "jsonpath_ng.ext":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            module.parse = functools.lru_cache(maxsize=256)(module.parse)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _CachedJsonPathParse())
