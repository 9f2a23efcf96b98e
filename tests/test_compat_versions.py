"""Messages of the C argument parser and PyErr_Format that depend on the CPython version:
the fakes word them as the real packages do under the running interpreter (compared with
the real packages by tests/test_compat_api.py; here each wording is pinned)."""
import pytest

from ipcsim.compat import _common, sysv_ipc

KEYWORDS = ("key", "flags", "mode", "max_message_size")


@pytest.mark.parametrize("version, key, message", [
    ((3, 11), "foo", "'foo' is an invalid keyword argument for this function"),
    ((3, 12), "mdoe", "'mdoe' is an invalid keyword argument for this function"),
    ((3, 13), "foo", "this function got an unexpected keyword argument 'foo'"),
    ((3, 13), "mdoe", "this function got an unexpected keyword argument 'mdoe'"),
    ((3, 13), "FLAGS", "this function got an unexpected keyword argument 'FLAGS'"),
    ((3, 13), "flagz", "this function got an unexpected keyword argument 'flagz'. "
                       "Did you mean 'flags'?"),
    ((3, 13), "Mode", "this function got an unexpected keyword argument 'Mode'. "
                      "Did you mean 'mode'?"),
    ((3, 13), "max_message", "this function got an unexpected keyword argument "
                             "'max_message'. Did you mean 'max_message_size'?"),
    ((3, 13), "k", "this function got an unexpected keyword argument 'k'"),
])
def test_an_unknown_keyword(monkeypatch, version, key, message):
    monkeypatch.setattr(_common.sys, "version_info", version + (0, "final", 0))
    assert _common.unknown_keyword(key, KEYWORDS) == message


def test_the_suggestion_is_the_nearest_and_the_first_of_equals():
    assert _common._closest("flag", ("flags", "flag_")) == "flags"
    assert _common._closest("abc", ()) is None
    assert _common._closest("x" * 50, ("x" * 49,)) == "x" * 49        # a common prefix
    assert _common._closest("key", ["k%d" % i for i in range(750)] + ["kay"]) is None


@pytest.mark.parametrize("version, text", [((3, 11), "%o"), ((3, 12), "640")])
def test_shared_memory_permission_message(monkeypatch, version, text):
    monkeypatch.setattr(sysv_ipc._sys, "version_info", version + (0, "final", 0))
    assert sysv_ipc._octal(0o640) == text
