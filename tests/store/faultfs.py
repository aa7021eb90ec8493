"""A test-only pyarrow filesystem over the local disk that fails chosen operations the way S3 does.

Why a stand-in: a transient object-store failure cannot be produced on demand for every case (the
moto tests produce a real one by pausing the server); this one raises exactly pyarrow's S3 error
(an ``OSError`` naming ``AWS Error NETWORK_CONNECTION``) a chosen number of times per path, and can
cut an upload short after some bytes, as a dropped connection does.
"""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa
import pyarrow.fs as pafs

NETWORK_ERROR = ("When reading information for key '{path}' in bucket 'store': AWS Error NETWORK_CONNECTION "
                 "during GetObject operation: curlCode: 56, Failure when receiving data from the peer")


class FaultyHandler(pafs.FileSystemHandler):
    """Delegates to the local filesystem; ``fail_reads[fragment] = n`` makes the next ``n`` opens of any
    path containing ``fragment`` raise the S3 network error (``n < 0``: every open);
    ``cut_uploads_after`` makes every output stream raise once that many bytes were written."""

    def __init__(self) -> None:
        self.local = pafs.LocalFileSystem()
        self.fail_reads: dict[str, int] = {}
        self.cut_uploads_after: int | None = None
        self.opens: dict[str, int] = defaultdict(int)

    def _maybe_fail(self, path: str) -> None:
        self.opens[path] += 1
        for fragment, left in self.fail_reads.items():
            if fragment in path and left != 0:
                self.fail_reads[fragment] = left - 1 if left > 0 else left
                raise OSError(NETWORK_ERROR.format(path=path))

    # -- reads: the fault points --------------------------------------------------------------
    def open_input_file(self, path):
        self._maybe_fail(path)
        return self.local.open_input_file(path)

    def open_input_stream(self, path):
        self._maybe_fail(path)
        return self.local.open_input_stream(path)

    def open_output_stream(self, path, metadata):
        stream = self.local.open_output_stream(path)
        if self.cut_uploads_after is None:
            return stream
        return pa.PythonFile(_CutStream(stream, self.cut_uploads_after), mode="w")

    # -- plain delegation ---------------------------------------------------------------------
    def get_type_name(self):
        return "faulty-local"

    def equals(self, other):
        return other is self

    def normalize_path(self, path):
        return path

    def get_file_info(self, paths):
        return self.local.get_file_info(paths)

    def get_file_info_selector(self, selector):
        return self.local.get_file_info(selector)

    def create_dir(self, path, recursive):
        self.local.create_dir(path, recursive=recursive)

    def delete_dir(self, path):
        self.local.delete_dir(path)

    def delete_dir_contents(self, path, missing_dir_ok=False):
        self.local.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self):
        raise OSError("not supported")

    def delete_file(self, path):
        self.local.delete_file(path)

    def move(self, src, dest):
        self.local.move(src, dest)

    def copy_file(self, src, dest):
        self.local.copy_file(src, dest)

    def open_append_stream(self, path, metadata):
        return self.local.open_append_stream(path)


class _CutStream:
    """A writable file object that passes ``limit`` bytes on, then fails like a dropped connection.

    Closing it closes (and so completes) the underlying stream with what it got, as pyarrow's S3
    stream does on close or garbage collection."""

    def __init__(self, stream, limit: int) -> None:
        self.stream, self.left = stream, limit
        self.closed = False

    def write(self, data) -> int:
        data = bytes(data)
        if len(data) > self.left:
            self.stream.write(data[: self.left])
            self.left = 0
            raise OSError("AWS Error NETWORK_CONNECTION during UploadPart operation: connection reset by peer")
        self.stream.write(data)
        self.left -= len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed:
            self.stream.close()
            self.closed = True

    def writable(self) -> bool:
        return True


def faulty_filesystem() -> tuple[pafs.PyFileSystem, FaultyHandler]:
    handler = FaultyHandler()
    return pafs.PyFileSystem(handler), handler
