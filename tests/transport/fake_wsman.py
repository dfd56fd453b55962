"""An in-process fake WS-Management endpoint (WinRS) for the real client libraries.

stdlib `http.server` + ThreadingMixIn on 127.0.0.1, random port, TCP_NODELAY,
HTTP/1.1 keep-alive, optional TLS (e.g. a TLS-1.0-only listener like an
untouched 2008 R2). Authentication is `fake_auth.ServerAuth`: Basic by
default (401 on a wrong password), or real NTLM / Kerberos / CredSSP
acceptors from pyspnego with WinRM message encryption, or client
certificates. It implements the
six WinRS actions pywinrm sends: Create, Command, Send, Receive, Signal,
Delete, and models what matters to hvdyn's transport:

- cmd.exe's 8191-character line limit ("The command line is too long.");
- OperationTimeout faults when output is not ready within the request's
  ``w:OperationTimeout`` (slow scripts), and injected ones on Send;
- output split over several Receives (``receive_chunk``);
- the WinRS operation quota (wmierror 0x803381A6) after ``quota_after``
  commands in one shell, and shells dropped by the host (``drop_shells``);
- a connection lost mid-script (``Reply.drop_after``): the first lines of
  stdout are received, then the next Receive gets no answer, its TCP
  connection closed;
- code page 65001 vs 437 on stdout;
- a tiny cmd.exe (mkdir / echo >> / cd /d / rmdir / powershell.exe) over an
  in-memory file system, for the file delivery mode.

PSRP (pypsrp's RunspacePool/PowerShell) is handled by `fake_psrp.FakePsrp`
(``self.psrp``) for requests on the ``http://schemas.microsoft.com/powershell/``
resource URIs; the script text of each pipeline goes to the same handler.

It cannot run PowerShell. A ``powershell.exe`` command is recognised by its
``-EncodedCommand`` (the shipped bootstrap or decoder, compared exactly) or
``-File``; the script text it would run is decoded exactly as the bootstrap
would and handed to ``handler(script_text) -> Reply``.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any

from hvdyn.transport._assets import FILE_DECODER, STDIN_BOOTSTRAP, read_asset, strip_comments

from . import fake_auth
from .fake_auth import ConnAuth, ServerAuth

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
}
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
PSRP_URI = "http://schemas.microsoft.com/powershell/"  # + configuration: see fake_psrp.py
TEMP = "C:\\Users\\hvadmin\\AppData\\Local\\Temp"
OPERATION_TIMEOUT = 2150858793
SHELL_NOT_FOUND = 2150858843
QUOTA = 0x803381A6
CMD_LIMIT = 8191
WIRE_KEEP = 200


@dataclass
class Reply:
    """What the fake "PowerShell" prints for a script."""

    stdout: str = ""
    stderr: str = ""
    rc: int = 0
    delay_s: float = 0.0
    drop_after: int | None = None  # stdout lines received, then the connection is lost


Handler = Callable[[str], Reply]


@dataclass
class _Command:
    line: str
    waits_for_stdin: bool
    stdin: bytearray = field(default_factory=bytearray)
    done: threading.Event = field(default_factory=threading.Event)
    cancel: threading.Event = field(default_factory=threading.Event)
    out: bytes = b""
    err: bytes = b""
    rc: int = 0
    sent_out: int = 0
    drop_at: int | None = None  # bytes of stdout served before the connection drops


@dataclass
class _Shell:
    codepage: int
    commands: dict[str, _Command] = field(default_factory=dict)
    count: int = 0


class _Dropped(Exception):
    """The connection closes without an answer (the host or the network went away)."""


class _Fault(Exception):
    def __init__(self, code: int, reason: str, subcode: str = "w:InternalError",
                 wmi: int | None = None) -> None:
        super().__init__(reason)
        self.code, self.reason, self.subcode, self.wmi = code, reason, subcode, wmi


class FakeWsman:
    """Start with `start()` (or as a context manager); `url`, counters, `scripts`."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        user: str = "hvadmin",
        password: str = "S3cret!",
        tls: ssl.SSLContext | None = None,
        receive_chunk: int = 0,
        quota_after: int | None = None,
        send_timeouts: int = 0,
        max_envelope: int = 153600,
        stdin_broken: bool = False,
        auth: ServerAuth | None = None,
    ) -> None:
        self.handler: Handler = handler or (lambda text: Reply())
        self.user, self.password = user, password
        self.auth = auth or ServerAuth(user=user, password=password)
        self.plain_bodies = 0  # requests whose body was readable SOAP
        self.encrypted_bodies = 0  # requests whose body was multipart/encrypted
        self.wire: list[bytes] = []  # the first WIRE_KEEP request bodies as received
        self.content_types: Counter[str] = Counter()  # request media types, parameters dropped
        self.tls = tls
        self.receive_chunk = receive_chunk
        self.quota_after = quota_after
        self.send_timeouts = send_timeouts
        self.max_envelope = max_envelope
        self.stdin_broken = stdin_broken  # models a host whose PS 2.0 bootstrap sees no stdin
        self.actions: Counter[str] = Counter()
        self.requests = 0
        self.connections = 0
        self.largest_request = 0
        self.scripts: list[str] = []
        self.command_lines: list[str] = []
        self.dirs: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.shells: dict[str, _Shell] = {}
        self.terminated = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        from .fake_psrp import FakePsrp  # imports this module: bound here, not at the top

        self.psrp = FakePsrp(self)  # the PSRP message layer (runspace pools, pipelines)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeWsman:
        self._server = _Server(("127.0.0.1", 0), _RequestHandler, self)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeWsman:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def drop_shells(self) -> None:
        """Forget every shell, as the host does after IdleTimeout or a service restart."""
        with self._lock:
            self.shells.clear()
        self.psrp.drop()

    # ------------------------------------------------------------ actions

    def dispatch(self, root: ET.Element, action: str, op_timeout: float) -> str:
        name = action.rsplit("/", 1)[-1]
        with self._lock:
            self.actions[name] += 1
        body = root.find("s:Body", NS)
        assert body is not None
        selector = root.find(".//w:SelectorSet/w:Selector[@Name='ShellId']", NS)
        shell_id = selector.text if selector is not None else None
        if root.findtext("s:Header/w:ResourceURI", "", NS).startswith(PSRP_URI):
            return self.psrp.dispatch(name, root, body, shell_id, op_timeout)
        if name == "Create":
            options = {o.get("Name"): o.text for o in root.iter(f"{{{NS['w']}}}Option")}
            sid = str(uuid.uuid4()).upper()
            with self._lock:
                self.shells[sid] = _Shell(codepage=int(options.get("WINRS_CODEPAGE") or 437))
            return (
                "<x:ResourceCreated xmlns:x='http://schemas.xmlsoap.org/ws/2004/09/transfer'>"
                "<a:Address>http://127.0.0.1/wsman</a:Address><a:ReferenceParameters>"
                f"<w:ResourceURI>{SHELL}/cmd</w:ResourceURI><w:SelectorSet>"
                f"<w:Selector Name='ShellId'>{sid}</w:Selector></w:SelectorSet>"
                "</a:ReferenceParameters></x:ResourceCreated>"
            )
        shell = self._shell(shell_id)
        if name == "Delete":
            with self._lock:
                self.shells.pop(shell_id or "", None)
            return ""
        if name == "Command":
            return self._command(root, body, shell)
        if name == "Send":
            return self._send(body, shell)
        if name == "Receive":
            return self._receive(body, shell, op_timeout)
        if name == "Signal":
            sig = body.find("rsp:Signal", NS)
            assert sig is not None
            cmd = shell.commands.pop(sig.get("CommandId", ""), None)
            if cmd is not None and not cmd.done.is_set():
                cmd.cancel.set()
                self.terminated += 1
            return "<rsp:SignalResponse/>"
        raise _Fault(1, f"unsupported action {action}")

    def _shell(self, shell_id: str | None) -> _Shell:
        with self._lock:
            shell = self.shells.get(shell_id or "")
        if shell is None:
            raise _Fault(
                SHELL_NOT_FOUND,
                f"The request for the Windows Remote Shell with ShellId {shell_id} failed because"
                " the shell was not found on the server.",
                "w:InvalidSelectors",
            )
        return shell

    def _command(self, root: ET.Element, body: ET.Element, shell: _Shell) -> str:
        if self.quota_after is not None and shell.count >= self.quota_after:
            raise _Fault(
                QUOTA,
                "The WS-Management service cannot process the request. This user is allowed a"
                " maximum number of operations, which has been exceeded.",
                "w:QuotaLimit",
                wmi=QUOTA,
            )
        shell.count += 1
        options = {o.get("Name"): o.text for o in root.iter(f"{{{NS['w']}}}Option")}
        command = body.findtext("rsp:CommandLine/rsp:Command", "", NS)
        args = body.findtext("rsp:CommandLine/rsp:Arguments", "", NS)
        line = f"{command} {args}".strip()
        with self._lock:
            self.command_lines.append(line)
        cid = str(uuid.uuid4()).upper()
        skip_cmd = (options.get("WINRS_SKIP_CMD_SHELL") or "FALSE").upper() == "TRUE"
        bootstrap = _encoded(STDIN_BOOTSTRAP) in line
        cmd = _Command(line=line, waits_for_stdin=bootstrap or line.endswith("script.ps1"))
        shell.commands[cid] = cmd
        if not skip_cmd and len(line) > CMD_LIMIT:
            self._finish(cmd, shell, Reply(stderr="The command line is too long.\r\n", rc=1))
        elif not cmd.waits_for_stdin:
            self._start(cmd, shell)
        return f"<rsp:CommandResponse><rsp:CommandId>{cid}</rsp:CommandId></rsp:CommandResponse>"

    def _send(self, body: ET.Element, shell: _Shell) -> str:
        if self.send_timeouts > 0:
            self.send_timeouts -= 1
            raise _Fault(OPERATION_TIMEOUT, "The WS-Management service cannot complete the"
                         " operation within the time specified in OperationTimeout.", "w:TimedOut")
        stream = body.find("rsp:Send/rsp:Stream", NS)
        assert stream is not None
        cmd = shell.commands[stream.get("CommandId", "")]
        cmd.stdin += base64.b64decode(stream.text or "")
        if (stream.get("End") or "").lower() == "true" and cmd.waits_for_stdin:
            self._start(cmd, shell)
        return "<rsp:SendResponse/>"

    def _receive(self, body: ET.Element, shell: _Shell, op_timeout: float) -> str:
        desired = body.find("rsp:Receive/rsp:DesiredStream", NS)
        assert desired is not None
        cid = desired.get("CommandId", "")
        cmd = shell.commands[cid]
        if not cmd.done.wait(op_timeout):
            raise _Fault(OPERATION_TIMEOUT, "The WS-Management service cannot complete the"
                         " operation within the time specified in OperationTimeout.", "w:TimedOut")
        size = self.receive_chunk or len(cmd.out) or 1
        if cmd.drop_at is not None:
            if cmd.sent_out >= cmd.drop_at:
                raise _Dropped
            size = min(size, cmd.drop_at - cmd.sent_out)
        piece = cmd.out[cmd.sent_out : cmd.sent_out + size]
        cmd.sent_out += len(piece)
        finished = cmd.sent_out >= len(cmd.out)
        parts = [f"<rsp:Stream Name='stdout' CommandId='{cid}'>"
                 f"{base64.b64encode(piece).decode()}</rsp:Stream>"]
        if finished:
            parts.append(f"<rsp:Stream Name='stderr' CommandId='{cid}'>"
                         f"{base64.b64encode(cmd.err).decode()}</rsp:Stream>")
            parts.append(f"<rsp:CommandState CommandId='{cid}' State='{SHELL}/CommandState/Done'>"
                         f"<rsp:ExitCode>{cmd.rc}</rsp:ExitCode></rsp:CommandState>")
        else:
            parts.append(f"<rsp:CommandState CommandId='{cid}' "
                         f"State='{SHELL}/CommandState/Running'/>")
        return "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>"

    # ------------------------------------------------------------ "Windows"

    def _start(self, cmd: _Command, shell: _Shell) -> None:
        def work() -> None:
            self._finish(cmd, shell, self._run_line(cmd))

        threading.Thread(target=work, daemon=True).start()

    def _finish(self, cmd: _Command, shell: _Shell, reply: Reply) -> None:
        encoding = "utf-8" if shell.codepage == 65001 else "cp437"
        cmd.out = reply.stdout.encode(encoding, errors="replace")
        cmd.err = reply.stderr.encode(encoding, errors="replace")
        cmd.rc = reply.rc
        if reply.drop_after is not None:
            kept = "".join(reply.stdout.splitlines(keepends=True)[: reply.drop_after])
            cmd.drop_at = len(kept.encode(encoding, errors="replace"))
        cmd.done.set()

    def _run_line(self, cmd: _Command) -> Reply:
        cwd = "C:\\Users\\hvadmin"
        out: list[str] = []
        drop: int | None = None  # a segment's drop_after, in lines of the whole output
        for segment in cmd.line.split(" && "):
            reply, cwd = self._segment(segment.strip().replace("%TEMP%", TEMP), cwd, cmd)
            if reply.drop_after is not None:
                drop = len("".join(out).splitlines()) + reply.drop_after
            out.append(reply.stdout)
            if reply.rc != 0 or cmd.cancel.is_set():
                return Reply("".join(out), reply.stderr, reply.rc or 1, drop_after=drop)
        return Reply("".join(out), "", 0, drop_after=drop)

    def _segment(self, seg: str, cwd: str, cmd: _Command) -> tuple[Reply, str]:
        if m := re.fullmatch(r'mkdir "(.+)"', seg):
            self.dirs.add(m.group(1).lower())
            return Reply(), cwd
        if m := re.fullmatch(r'\(echo (\S*)\)>>"(.+)"|echo (\S*?)([0-9]?)>>"(.+)"', seg):
            text, path = (m.group(1), m.group(2)) if m.group(2) else (m.group(3), m.group(5))
            path = path.lower()
            if path.rsplit("\\", 1)[0] not in self.dirs:
                return Reply(stderr="The system cannot find the path specified.\r\n", rc=1), cwd
            if m.group(4):  # unparenthesised text ending in a digit: cmd reads N>> as a handle
                self.files.setdefault(path, b"")
                return Reply(stdout=text + "\r\n"), cwd
            self.files[path] = self.files.get(path, b"") + text.encode() + b"\r\n"
            return Reply(), cwd
        if m := re.fullmatch(r'cd /d "(.+)"', seg):
            return Reply(), m.group(1).lower()
        if m := re.fullmatch(r'rmdir /s /q "(.+)"', seg):
            root = m.group(1).lower()
            self.dirs.discard(root)
            for path in [p for p in self.files if p.startswith(root + "\\")]:
                del self.files[path]
            return Reply(), cwd
        if seg.startswith("powershell.exe "):
            return self._powershell(seg.split()[1:], cwd, cmd), cwd
        word = seg.split()[0] if seg.split() else ""
        return Reply(stderr=f"'{word}' is not recognized as an internal or external command\r\n",
                     rc=1), cwd

    def _powershell(self, argv: list[str], cwd: str, cmd: _Command) -> Reply:
        lowered = [a.lower() for a in argv]
        if "-encodedcommand" in lowered:
            text = base64.b64decode(argv[lowered.index("-encodedcommand") + 1]).decode("utf-16-le")
            if text == strip_comments(read_asset(STDIN_BOOTSTRAP)):
                if self.stdin_broken:
                    return Reply(stderr="hvdyn bootstrap: Exception calling \"FromBase64String\""
                                 " with \"1\" argument(s): \"Invalid length\"\r\n", rc=1)
                b64 = bytes(cmd.stdin).decode("ascii")  # the bootstrap only takes base64
                return self._script(base64.b64decode(b64).decode("utf-8"), cmd)
            if text == strip_comments(read_asset(FILE_DECODER)):
                raw = base64.b64decode(self.files[cwd + "\\script.b64"])
                self.files[cwd + "\\script.ps1"] = b"\xef\xbb\xbf" + raw
                return Reply()
            return self._script(text, cmd)  # run_ps-style -EncodedCommand script
        if "-file" in lowered:
            name = argv[lowered.index("-file") + 1].lower()
            data = self.files[cwd + "\\" + name]
            assert data.startswith(b"\xef\xbb\xbf"), "PS 2.0 needs a BOM to read UTF-8"
            return self._script(data[3:].decode("utf-8"), cmd)
        return Reply(stderr="powershell: no script\r\n", rc=1)

    def _script(self, text: str, cmd: _Command) -> Reply:
        with self._lock:
            self.scripts.append(text)
        reply = self.handler(text)
        if reply.delay_s and cmd.cancel.wait(reply.delay_s):
            return Reply(rc=-1)
        return reply


def _encoded(name: str) -> str:
    return base64.b64encode(strip_comments(read_asset(name)).encode("utf-16-le")).decode()


# ---------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handler: Any, fake: FakeWsman) -> None:
        self.fake = fake
        super().__init__(addr, handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.fake.tls is not None:
            sock = self.fake.tls.wrap_socket(sock, server_side=True,
                                             do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed handshakes and dropped clients are expected in tests


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(5)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        self.conn_auth = ConnAuth()
        with self.server.fake._lock:
            self.server.fake.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/soap+xml;charset=UTF-8", **(extra or {})}
        self.send_response(status)
        headers["Content-Length"] = str(len(body))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        with fake._lock:
            fake.requests += 1
            fake.largest_request = max(fake.largest_request, length)
            if data and len(fake.wire) < WIRE_KEEP:
                fake.wire.append(data)
        verdict = fake.auth.check(self.headers.get("Authorization"), self.conn_auth,
                                  fake_auth.peer_certificate(self.request))
        if not verdict.ok:
            self._reply(401, b"", verdict.headers)
            return
        content_type = self.headers.get("Content-Type") or ""
        if data:
            with fake._lock:
                fake.content_types[content_type.split(";")[0].strip()] += 1
        protocol = ""
        if fake_auth.is_encrypted(content_type):
            protocol = fake_auth.protocol_of(content_type)
            credssp = "CredSSP" in protocol
            try:
                data = fake_auth.unwrap(self.conn_auth.context, data, credssp)
            except Exception:  # not this connection's keys, or tampered
                self._reply(400, b"", verdict.headers)
                return
            with fake._lock:
                fake.encrypted_bodies += 1
        elif data:
            with fake._lock:
                fake.plain_bodies += 1
            if fake.auth.require_encryption and not isinstance(self.request, ssl.SSLSocket):
                self._reply(401, b"", fake.auth.challenge())  # AllowUnencrypted=false
                return
        if not data:  # the empty POST clients send to finish auth before encrypting
            self._reply(200, b"", verdict.headers)
            return
        root = ET.fromstring(data)
        action = root.findtext("s:Header/a:Action", "", NS)
        message_id = root.findtext("s:Header/a:MessageID", "", NS)
        op_text = root.findtext("s:Header/w:OperationTimeout", "PT20S", NS)
        op_match = re.fullmatch(r"PT(\d+(?:\.\d+)?)S", op_text)
        op_timeout = float(op_match.group(1)) if op_match else 20.0
        try:
            if length > fake.max_envelope:
                raise _Fault(0x80338111, "The request size exceeded the configured"
                             " MaxEnvelopeSize quota.", "w:EncodingLimit")
            try:
                body = fake.dispatch(root, action, op_timeout)
            except (KeyError, AssertionError, ValueError) as exc:  # a request it cannot serve
                raise _Fault(0x80338000, f"the fake endpoint cannot handle this request"
                             f" ({type(exc).__name__})") from exc
            status = 200
            reply_action = action + "Response"
        except _Dropped:
            self.close_connection = True  # no answer: the client sees the connection drop
            return
        except _Fault as fault:
            status = 500
            reply_action = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
            wmi = (
                "<p:MSFT_WmiError xmlns:p='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
                f"MSFT_WmiError'><p:error_Code>{fault.wmi}</p:error_Code></p:MSFT_WmiError>"
                if fault.wmi is not None else ""
            )
            body = (
                "<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode>"
                f"<s:Value>{fault.subcode}</s:Value></s:Subcode></s:Code><s:Reason>"
                f"<s:Text xml:lang='en-US'>{_xml(fault.reason)}</s:Text></s:Reason><s:Detail>"
                "<f:WSManFault xmlns:f='http://schemas.microsoft.com/wbem/wsman/1/wsmanfault'"
                f" Code='{fault.code}' Machine='fake'><f:Message>{_xml(fault.reason)}"
                f"</f:Message></f:WSManFault>{wmi}</s:Detail></s:Fault>"
            )
        envelope = (
            f"<s:Envelope xmlns:s='{NS['s']}' xmlns:a='{NS['a']}' xmlns:w='{NS['w']}'"
            f" xmlns:rsp='{NS['rsp']}'><s:Header><a:Action>{reply_action}</a:Action>"
            f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
            f"<a:RelatesTo>{message_id}</a:RelatesTo></s:Header><s:Body>{body}</s:Body>"
            "</s:Envelope>"
        )
        payload = envelope.encode("utf-8")
        if protocol:
            payload, wrapped_type = fake_auth.wrap(self.conn_auth.context, payload, protocol,
                                                   "CredSSP" in protocol)
            self._reply(status, payload, {**verdict.headers, "Content-Type": wrapped_type})
            return
        self._reply(status, payload, verdict.headers)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
