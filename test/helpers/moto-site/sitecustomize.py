"""Loaded by the moto_server that test/helpers/moto.ts starts (PYTHONPATH points here).

moto's server is threaded and its DynamoDB checks a condition and then writes without a
lock, so two concurrent conditional writes can both succeed (about 1 race in 50 with six
writers): DynamoDB itself never lets that happen, and the ledger and store tests rely on it.
Serializing DynamoDB requests restores the guarantee. Other services keep their threads
(SQS long polls must not block the rest).
"""

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
