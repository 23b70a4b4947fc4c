"""Hypothesis fuzzing of the request parser: any bytes, any split, only HttpError or requests."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcore.webserver._http import Limits, RequestReader
from kcore.webserver_base import STATUS_TEXT, HttpError, check_path

LIMITS = Limits(max_header_bytes=2048, max_request_line=1024, max_headers=20, max_body=4096)

TOKENS = [
    b"GET",
    b"POST",
    b"PUT",
    b" ",
    b"/",
    b"/a",
    b"?x=1",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"\r\n",
    b"\r\n\r\n",
    b"Host: x",
    b"Content-Length: ",
    b"3",
    b"-1",
    b"99999",
    b"Transfer-Encoding: ",
    b"chunked",
    b"0",
    b"abc",
    b":",
    b"\t",
    b"\x00",
    b"\xff",
    b"%",
    b"%2e%2e",
    b"..",
    b"Expect: ",
    b"100-continue",
    b"Connection: close",
    b"a;b",
    b"5\r\nhello\r\n",
    b"\n",
]

http_like = st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join)
# A valid request head whose framing headers and body are fuzzed: reaches the
# body parsers (Content-Length, chunked) that random bytes rarely get to.
FRAMING = [
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 5\r\nContent-Length: 5\r\n",
    b"Expect: 100-continue\r\nContent-Length: 3\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"",
]
framed = st.builds(
    lambda method, framing, tail: (
        method + b" /x HTTP/1.1\r\nHost: h\r\n" + framing + b"\r\n" + tail
    ),
    st.sampled_from([b"GET", b"POST", b"PUT"]),
    st.sampled_from(FRAMING),
    st.one_of(
        st.binary(max_size=200),
        st.lists(
            st.sampled_from([*TOKENS, b"ff", b"g", b";x=y", b"\r\n0\r\n\r\n"]), max_size=30
        ).map(b"".join),
    ),
)
any_bytes = st.one_of(st.binary(max_size=600), http_like, framed)


def _drive(data, cuts):
    reader = RequestReader(LIMITS)
    out = []
    pos = 0
    for cut in [*sorted(cuts), len(data)]:
        reader.feed(data[pos:cut])
        pos = cut
        while True:
            req = reader.next_request()
            if req is None:
                break
            out.append(req)
    return out, reader


@settings(
    max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=any_bytes, cuts=st.lists(st.integers(0, 600), max_size=6))
def test_parser_never_fails_unexpectedly(data, cuts):
    cuts = [c for c in cuts if c <= len(data)]
    try:
        requests_, reader = _drive(data, cuts)
    except HttpError as e:
        assert e.status in STATUS_TEXT and 400 <= e.status <= 505
        return
    for r in requests_:
        assert r.method and r.target
        assert len(r.body) <= LIMITS.max_body
        try:
            check_path(r.target.split("?")[0])
        except HttpError as e:
            assert e.status == 400
    assert len(reader.buf) <= len(data)


header_name = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
header_value = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=0, max_size=20
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path=st.text("abcxyz0123/-_.~", min_size=0, max_size=30),
    headers=st.lists(st.tuples(header_name, header_value), max_size=8),
    body=st.binary(max_size=300),
    chunked=st.booleans(),
    cuts=st.lists(st.integers(0, 800), max_size=5),
)
def test_valid_requests_round_trip_under_any_split(method, path, headers, body, chunked, cuts):
    headers = [
        (n, v)
        for n, v in headers
        if n not in ("content-length", "transfer-encoding", "expect", "connection", "host")
    ]
    lines = ["%s /%s HTTP/1.1" % (method, path), "Host: h"] + ["%s: %s" % hv for hv in headers]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        payload = b""
        for i in range(0, len(body), 7):
            piece = body[i : i + 7]
            payload += b"%x\r\n%s\r\n" % (len(piece), piece)
        payload += b"0\r\n\r\n"
    else:
        lines.append("Content-Length: %d" % len(body))
        payload = body
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    two = raw + raw
    cuts = [c for c in cuts if c <= len(two)]
    got, reader = _drive(two, cuts)
    assert len(got) == 2
    for r in got:
        assert r.method == method
        assert r.target == "/" + path
        assert r.body == body
        for n, v in headers:
            assert v.strip() in r.headers.get_all(n)
    assert not reader.buf


HEAD_PIECES = [
    b"GET",
    b"POST",
    b"BREW",
    b" ",
    b"/",
    b"/a?b=c",
    b"*",
    b"http://h/x",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/2.0",
    b"\r\n",
    b"Host",
    b"X-A",
    b"x_y",
    b"Bad Name",
    b":",
    b": ",
    b" v ",
    b"\t",
    b"\x00",
    b"\x01",
    b"\x7f",
    b"\xe9",
    b"\r",
    b"\n",
    b"a:b:c",
]
head_like = st.lists(st.sampled_from(HEAD_PIECES), max_size=30).map(b"".join)


@settings(max_examples=1500, deadline=None, database=None)
@given(
    head=st.one_of(
        head_like,
        st.builds(
            lambda m, hs: m + b" /p HTTP/1.1\r\n" + b"".join(hs),
            st.sampled_from([b"GET", b"PUT", b"OPTIONS"]),
            st.lists(
                st.builds(
                    lambda n, v: n + b":" + v + b"\r\n",
                    st.sampled_from([b"Host", b"A", b"a-b", b"x!y"]),
                    st.binary(max_size=12),
                ),
                max_size=25,
            ),
        ),
    )
)
def test_fast_head_parser_agrees_with_the_strict_one(head):
    """What the one-regex parser of the usual head accepts, the strict
    parser accepts with the same result (the rest goes to the strict one)."""
    from kcore.webserver._http import _parse_head_fast
    from kcore.webserver_base import parse_request_head

    buf = bytearray(head + b"\r\n\r\n")
    end = buf.find(b"\r\n\r\n")
    fast = _parse_head_fast(buf, end, 20)
    if fast is None:
        return
    strict = parse_request_head(bytes(buf[:end]), 20)
    assert fast[:3] == strict[:3]
    assert fast[3].items() == strict[3].items()
