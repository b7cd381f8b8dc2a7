"""The files under static/, with the two things Starlette's StaticFiles leaves out:

- Precompressed copies. A file `x` with `x.br` or `x.gz` beside it is answered with the smallest
  copy the client accepts (`Content-Encoding: br` or `gzip`, `Vary: Accept-Encoding`). ONNX
  Runtime's WebAssembly is 14.2 MB as it is, 3.7 MB gzipped and 2.3 MB in brotli, compressed once
  when it is vendored (docs/performance.md), not on every request.
- Caching. A folder named with a version (`onnxruntime-web-1.30.0/`) never changes under its name,
  so its files are cached for a year, `immutable`: a second visit does not even ask. The app's
  own files (app.js, app.css ...) keep their names across releases, so browsers revalidate them
  (`no-cache`) with the ETag and get a bodiless 304 while they are unchanged.
"""

from __future__ import annotations

import re
import stat

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from server.responses import accepts_encoding

COPIES = (("br", ".br"), ("gzip", ".gz"))  # the smaller first
VERSIONED = re.compile(r"-\d+\.\d+\.\d+/")
YEAR = 365 * 24 * 3600


class StaticAssets(StaticFiles):
    def _copy(self, path: str, scope: Scope) -> tuple[str, str] | None:
        """(coding, suffix) of the precompressed copy of `path` to send, None for the file itself."""
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-encoding"), "")
        for coding, suffix in COPIES:
            _, found = self.lookup_path(path + suffix)
            if found is not None and stat.S_ISREG(found.st_mode) and accepts_encoding(header, coding):
                return coding, suffix
        return None

    def _has_copies(self, path: str) -> bool:
        return any(self.lookup_path(path + suffix)[1] is not None for _, suffix in COPIES)

    async def get_response(self, path: str, scope: Scope) -> Response:
        copy = self._copy(path, scope)
        response = await super().get_response(path + copy[1] if copy else path, scope)
        if copy and response.status_code == 200:
            response.headers["Content-Encoding"] = copy[0]
        if copy or self._has_copies(path):
            response.headers["Vary"] = "Accept-Encoding"
        versioned = VERSIONED.search(path.replace("\\", "/")) is not None
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable" if versioned else "no-cache"
        return response
