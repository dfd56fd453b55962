"""The PSRP message layer for the fake WS-Management endpoint (PowerShell 2.0 server side).

Plugged into `FakeWsman`: requests whose ``w:ResourceURI`` is
``http://schemas.microsoft.com/powershell/<configuration>`` come here. The
fake's messages are pypsrp's own message classes serialized by its
`Serializer`, packed per MS-PSRP 2.2.1 with destination *client* and cut
into pypsrp `Fragment`s; the client's fragments are reassembled with
`Fragment.unpack` and their CLIXML read with ElementTree (pypsrp cannot
deserialize the HostInfo the client sends). What the fake models (MS-PSRP 3.1.4/3.2.4):

- Create: ``rsp:Shell ShellId=<RPID>`` carrying ``creationXml`` (SESSION_CAPABILITY
  + INIT_RUNSPACEPOOL). The pool's Receive (no CommandId) then returns
  SESSION_CAPABILITY (protocol 2.1, PSVersion 2.0, serialization 1.1.0.1 - a
  2008 R2 SP1 host), APPLICATION_PRIVATE_DATA (PSVersionTable) and
  RUNSPACEPOOL_STATE Opened.
- Command: ``rsp:CommandLine CommandId=<PID>`` whose ``rsp:Arguments`` is the
  first fragment of CREATE_PIPELINE; the rest of a large one comes by Send
  (stream ``stdin``). When the message is whole, the script text (the
  pipeline's commands) is handed to the handler on a thread.
- Receive with a CommandId: the pipeline's messages as ``rsp:Stream
  Name="stdout"`` base64 fragments - PIPELINE_OUTPUT (one string per
  output line), ERROR_RECORD (one per error line, as ``Write-Error`` makes
  them), PIPELINE_HOST_CALL SetShouldExit(N) for ``exit N`` (a void host
  method: call id -100, no response expected), PIPELINE_STATE Completed,
  and ``CommandState Done``. Nothing ready within the request's
  OperationTimeout -> the OperationTimeout fault pypsrp polls through.
- Signal terminate / ps_ctrl_c (stops the pipeline), Delete (closes the pool).
- A connection lost mid-script (``Reply.drop_after`` / ``PsReply.drop_after``):
  the first output objects are received, then the next Receive of the
  pipeline gets no answer, its TCP connection closed.

The handler is FakeWsman's: ``handler(script_text) -> Reply``; ``Reply.stdout``
lines become output strings, ``Reply.stderr`` lines error records and
``Reply.rc`` the ``exit`` code (hvdyn's scripts always end with ``exit``).
A handler may also return a `PsReply` to say exactly what the pipeline does.
"""

from __future__ import annotations

import base64
import struct
import threading
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pypsrp.complex_objects import (
    GenericComplexObject,
    HostMethodIdentifier,
    PSInvocationState,
    RunspacePoolState,
)
from pypsrp.messages import (
    ApplicationPrivateData,
    Destination,
    ErrorRecordMessage,
    MessageType,
    PipelineHostCall,
    PipelineState,
    RunspacePoolStateMessage,
    SessionCapability,
)
from pypsrp.powershell import Fragment
from pypsrp.serializer import Serializer

from .fake_wsman import NS, OPERATION_TIMEOUT, PSRP_URI, SHELL_NOT_FOUND, Reply, _Dropped, _Fault

if TYPE_CHECKING:
    from .fake_wsman import FakeWsman

SERVER_PROTOCOL = "2.1"  # PowerShell 2.0 (Windows Server 2008 R2 SP1)
SERVER_PS = "2.0"
SERVER_SERIALIZATION = "1.1.0.1"
FRAGMENT_SIZE = 32 * 1024  # the server's fragments; big outputs span several
VOID_CALL_ID = -100  # ServerMethodExecutor.ExecuteVoidMethod: no response expected
SIGNALS = {  # Signal codes -> the names `FakePsrp.signals` counts
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate": "terminate",
    "powershell/signal/ctrl_c": "ps_ctrl_c",  # PowerShell.stop()
}


@dataclass
class PsReply:
    """What a pipeline does: output strings, Write-Error messages, ``exit`` code."""

    output: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exit_code: int | None = None
    delay_s: float = 0.0
    drop_after: int | None = None  # output objects received, then the connection is lost


def from_reply(reply: Reply | PsReply) -> PsReply:
    """A WinRS-style `Reply` as a pipeline: lines out, lines in error, rc as ``exit``."""
    if isinstance(reply, PsReply):
        return reply
    return PsReply(
        output=reply.stdout.splitlines(),
        errors=[line for line in reply.stderr.splitlines() if line],
        exit_code=reply.rc,
        delay_s=reply.delay_s,
        drop_after=reply.drop_after,
    )


@dataclass
class _Pipeline:
    pid: str
    incoming: bytes = b""
    created: bool = False
    outbox: list[bytes] = field(default_factory=list)  # packed fragments for the client
    finished: bool = False  # PIPELINE_STATE queued
    dropping: bool = False  # the next Receive with nothing queued loses the connection
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Pool:
    rpid: str
    client_protocol: str | None = None
    partial: dict[int, bytes] = field(default_factory=dict)  # client fragments by object id
    object_id: int = 1
    outbox: list[bytes] = field(default_factory=list)
    pipelines: dict[str, _Pipeline] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)


class FakePsrp:
    """The runspace pools of one `FakeWsman`; counters for the tests."""

    def __init__(self, fake: FakeWsman) -> None:
        self.fake = fake
        self.pools: dict[str, _Pool] = {}
        self.messages_per_receive = 0  # 0: everything ready; n: at most n messages per Receive
        self.received: Counter[str] = Counter()  # client -> server PSRP message types
        self.sent: Counter[str] = Counter()  # server -> client PSRP message types
        self.signals: Counter[str] = Counter()
        self.pipelines_created = 0
        self.pools_closed = 0
        self.client_protocols: list[str | None] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------ WS-Man actions

    def dispatch(self, name: str, root: ET.Element, body: ET.Element, shell_id: str | None,
                 op_timeout: float) -> str:
        if name == "Create":
            return self._create(body)
        pool = self._pool(shell_id)
        if name == "Command":
            return self._command(pool, body)
        if name == "Send":
            return self._send(pool, body)
        if name == "Receive":
            return self._receive(pool, body, op_timeout)
        if name == "Signal":
            return self._signal(pool, body)
        if name == "Delete":
            with self._lock:
                self.pools.pop(pool.rpid, None)
                self.pools_closed += 1
            for pipeline in list(pool.pipelines.values()):
                pipeline.cancel.set()
            return ""
        raise _Fault(1, f"unsupported PSRP action {name}")

    def drop(self) -> None:
        """Forget every pool (the host restarted WinRM)."""
        with self._lock:
            self.pools.clear()

    def _pool(self, shell_id: str | None) -> _Pool:
        with self._lock:
            pool = self.pools.get((shell_id or "").upper())
        if pool is None:
            raise _Fault(
                SHELL_NOT_FOUND,
                f"The request for the Windows Remote Shell with ShellId {shell_id} failed because"
                " the shell was not found on the server.",
                "w:InvalidSelectors",
            )
        return pool

    def _create(self, body: ET.Element) -> str:
        shell = body.find("rsp:Shell", NS)
        assert shell is not None
        rpid = (shell.get("ShellId") or str(uuid.uuid4())).upper()
        creation = shell.findtext("{http://schemas.microsoft.com/powershell}creationXml")
        assert creation, "a PSRP Create carries creationXml"
        pool = _Pool(rpid=rpid)
        for message in self._incoming(pool, base64.b64decode(creation)):
            if message.message_type == MessageType.SESSION_CAPABILITY:
                pool.client_protocol = message.xml.findtext("MS/Version[@N='protocolversion']")
        assert self.received["INIT_RUNSPACEPOOL"], "creationXml holds INIT_RUNSPACEPOOL"
        self._queue(pool, pool.outbox, None, SessionCapability(
            SERVER_PROTOCOL, SERVER_PS, SERVER_SERIALIZATION))
        self._queue(pool, pool.outbox, None, ApplicationPrivateData(data={
            "PSVersionTable": {
                "PSVersion": SERVER_PS,
                "PSRemotingProtocolVersion": SERVER_PROTOCOL,
                "SerializationVersion": SERVER_SERIALIZATION,
                "BuildVersion": "6.1.7601.17514",
                "CLRVersion": "2.0.50727.5420",
                "WSManStackVersion": "2.0",
            }
        }))
        self._queue(pool, pool.outbox, None,
                    RunspacePoolStateMessage(state=RunspacePoolState.OPENED))
        with self._lock:
            self.pools[rpid] = pool
            self.client_protocols.append(pool.client_protocol)
        resource = f"{PSRP_URI}Microsoft.PowerShell"
        return (
            "<x:ResourceCreated xmlns:x='http://schemas.xmlsoap.org/ws/2004/09/transfer'>"
            "<a:Address>http://127.0.0.1/wsman</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{resource}</w:ResourceURI><w:SelectorSet>"
            f"<w:Selector Name='ShellId'>{rpid}</w:Selector></w:SelectorSet>"
            "</a:ReferenceParameters></x:ResourceCreated>"
            f"<rsp:Shell><rsp:ShellId>{rpid}</rsp:ShellId>"
            f"<rsp:ResourceUri>{resource}</rsp:ResourceUri>"
            "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
            "<rsp:InputStreams>stdin pr</rsp:InputStreams>"
            "<rsp:OutputStreams>stdout</rsp:OutputStreams></rsp:Shell>"
        )

    def _command(self, pool: _Pool, body: ET.Element) -> str:
        line = body.find("rsp:CommandLine", NS)
        assert line is not None
        pid = (line.get("CommandId") or str(uuid.uuid4())).upper()
        pipeline = _Pipeline(pid=pid)
        with pool.changed:
            pool.pipelines[pid] = pipeline
        self._feed(pool, pipeline, base64.b64decode(line.findtext("rsp:Arguments", "", NS)))
        return f"<rsp:CommandResponse><rsp:CommandId>{pid}</rsp:CommandId></rsp:CommandResponse>"

    def _send(self, pool: _Pool, body: ET.Element) -> str:
        stream = body.find("rsp:Send/rsp:Stream", NS)
        assert stream is not None
        data = base64.b64decode(stream.text or "")
        command_id = (stream.get("CommandId") or "").upper()
        if command_id:
            self._feed(pool, pool.pipelines[command_id], data)
        else:  # "pr": a host response on the pool; nothing here asks for one
            list(self._incoming(pool, data))
        return "<rsp:SendResponse/>"

    def _receive(self, pool: _Pool, body: ET.Element, op_timeout: float) -> str:
        desired = body.find("rsp:Receive/rsp:DesiredStream", NS)
        assert desired is not None
        command_id = (desired.get("CommandId") or "").upper()
        pipeline = pool.pipelines[command_id] if command_id else None
        outbox = pipeline.outbox if pipeline is not None else pool.outbox
        with pool.changed:
            def ready() -> bool:
                return bool(outbox) or (pipeline is not None and pipeline.dropping)

            if not pool.changed.wait_for(ready, op_timeout):
                raise _Fault(OPERATION_TIMEOUT, "The WS-Management service cannot complete the"
                             " operation within the time specified in OperationTimeout.",
                             "w:TimedOut")
            if not outbox:  # the pipeline's output so far was received: the connection drops
                raise _Dropped
            count = self.messages_per_receive or len(outbox)
            fragments, outbox[:] = outbox[:count], outbox[count:]
            done = pipeline is not None and pipeline.finished and not outbox
        attr = f" CommandId='{command_id}'" if command_id else ""
        parts = [f"<rsp:Stream Name='stdout'{attr}>{base64.b64encode(f).decode()}</rsp:Stream>"
                 for f in fragments]
        if pipeline is not None:
            state = "Done" if done else "Running"
            parts.append(f"<rsp:CommandState{attr} State='{NS['rsp']}/CommandState/{state}'/>")
        return "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>"

    def _signal(self, pool: _Pool, body: ET.Element) -> str:
        signal = body.find("rsp:Signal", NS)
        assert signal is not None
        code = signal.findtext("rsp:Code", "", NS)
        with self._lock:
            self.signals[SIGNALS.get(code.lower(), code)] += 1
        pipeline = pool.pipelines.pop((signal.get("CommandId") or "").upper(), None)
        if pipeline is not None:
            pipeline.cancel.set()
        return "<rsp:SignalResponse/>"

    # ------------------------------------------------------------ PSRP messages

    def _incoming(self, pool: _Pool, data: bytes) -> list[_InMessage]:
        """Whole client messages from fragments (pypsrp's `Fragment.unpack`).

        Not `Fragmenter.defragment`: pypsrp cannot deserialize the HostInfo in
        INIT_RUNSPACEPOOL / CREATE_PIPELINE (a client-only library), so the
        CLIXML is kept and read with ElementTree.
        """
        messages = []
        while data:
            fragment, data = Fragment.unpack(data)
            partial = pool.partial.get(fragment.object_id, b"") if not fragment.start else b""
            partial += fragment.data
            if fragment.end:
                pool.partial.pop(fragment.object_id, None)
                messages.append(_InMessage.unpack(partial))
            else:
                pool.partial[fragment.object_id] = partial
        with self._lock:
            for message in messages:
                self.received[_type_name(message.message_type)] += 1
        return messages

    def _feed(self, pool: _Pool, pipeline: _Pipeline, data: bytes) -> None:
        for message in self._incoming(pool, data):
            if message.message_type == MessageType.CREATE_PIPELINE and not pipeline.created:
                pipeline.created = True
                with self._lock:
                    self.pipelines_created += 1
                threading.Thread(target=self._run, args=(pool, pipeline, message.script_text()),
                                 daemon=True).start()

    def _run(self, pool: _Pool, pipeline: _Pipeline, text: str) -> None:
        fake = self.fake
        with fake._lock:
            fake.scripts.append(text)
        reply = from_reply(fake.handler(text))
        if reply.delay_s and pipeline.cancel.wait(reply.delay_s):
            self._queue(pool, pipeline.outbox, pipeline.pid,
                        PipelineState(state=PSInvocationState.STOPPED))
            return
        if reply.drop_after is not None:
            for obj in reply.output[: reply.drop_after]:
                self._queue(pool, pipeline.outbox, pipeline.pid, _Output(obj))
            with pool.changed:
                pipeline.dropping = True
                pool.changed.notify_all()
            return
        for obj in reply.output:
            self._queue(pool, pipeline.outbox, pipeline.pid, _Output(obj))
        for error in reply.errors:
            self._queue(pool, pipeline.outbox, pipeline.pid, write_error(error))
        if reply.exit_code is not None:
            call = PipelineHostCall(ci=VOID_CALL_ID, mi=HostMethodIdentifier(value=6),
                                    mp=[reply.exit_code])
            self._queue(pool, pipeline.outbox, pipeline.pid, call)
        self._queue(pool, pipeline.outbox, pipeline.pid,
                    PipelineState(state=PSInvocationState.COMPLETED), last=True)

    def _queue(self, pool: _Pool, outbox: list[bytes], pid: str | None, data: Any,
               last: bool = False) -> None:
        """Pack one server message, fragment it and make it receivable."""
        packed = _pack(pool.rpid, pid, data)
        with pool.changed:
            object_id = pool.object_id
            pool.object_id += 1
            chunks = [packed[i : i + FRAGMENT_SIZE]
                      for i in range(0, len(packed), FRAGMENT_SIZE)] or [b""]
            for index, chunk in enumerate(chunks):
                outbox.append(Fragment(object_id, index, chunk, start=index == 0,
                                       end=index == len(chunks) - 1).pack())
            if last:
                pool.pipelines[pid or ""].finished = True
            pool.changed.notify_all()
        with self._lock:
            self.sent[_type_name(data.MESSAGE_TYPE)] += 1


class _Output:
    """PIPELINE_OUTPUT: the object itself is the message body."""

    MESSAGE_TYPE = MessageType.PIPELINE_OUTPUT

    def __init__(self, obj: Any) -> None:
        self.obj = obj


def write_error(text: str) -> ErrorRecordMessage:
    """The ERROR_RECORD a PowerShell 2.0 ``Write-Error '<text>'`` in a script sends."""
    exception = GenericComplexObject()
    exception.types = ["Microsoft.PowerShell.Commands.WriteErrorException",
                       "System.SystemException", "System.Exception", "System.Object"]
    exception.to_string = text
    exception.adapted_properties = {"Message": text}
    record = ErrorRecordMessage(
        exception=exception,
        invocation=True,
        fq_error="Microsoft.PowerShell.Commands.WriteErrorException",
        category=0,  # NotSpecified
        reason="WriteErrorException",
        message="NotSpecified: (:) [Write-Error], WriteErrorException",
        invocation_name="Write-Error",
        invocation_position_message=f"At line:1 char:12\n+ Write-Error <<<< '{text}'",
    )
    for name, _meta in record._extended_properties:
        if not hasattr(record, name):  # pypsrp's ErrorRecord leaves a few unset
            setattr(record, name, None)
    record._to_string = text
    return record


def _pack(rpid: str, pid: str | None, data: Any) -> bytes:
    """MS-PSRP 2.2.1: destination, type, RPID, PID (little-endian GUIDs), CLIXML body."""
    serializer = Serializer()
    if isinstance(data, _Output):
        element = serializer.serialize(data.obj)
    else:
        element = serializer.serialize(data)
    body = ET.tostring(element, encoding="utf-8") if element is not None else b""
    if body.startswith(b"<?xml"):
        body = body.split(b"?>", 1)[1].lstrip(b"\n")
    empty = uuid.UUID(int=0)
    return (
        struct.pack("<II", Destination.CLIENT, data.MESSAGE_TYPE)
        + uuid.UUID(rpid).bytes_le
        + (uuid.UUID(pid) if pid else empty).bytes_le
        + body
    )


@dataclass
class _InMessage:
    """A client message: MS-PSRP 2.2.1 header and its CLIXML body."""

    message_type: int
    rpid: str
    pid: str
    xml: ET.Element

    @staticmethod
    def unpack(data: bytes) -> _InMessage:
        destination, message_type = struct.unpack("<II", data[:8])
        assert destination == Destination.SERVER
        body = data[40:].removeprefix(b"\xef\xbb\xbf")
        return _InMessage(
            message_type=message_type,
            rpid=str(uuid.UUID(bytes_le=data[8:24])).upper(),
            pid=str(uuid.UUID(bytes_le=data[24:40])).upper(),
            xml=ET.fromstring(body) if body.strip() else ET.Element("Obj"),
        )

    def script_text(self) -> str:
        """CREATE_PIPELINE: the text of its commands (``add_script`` sends one, IsScript)."""
        commands = self.xml.findall("MS/Obj[@N='PowerShell']/MS/Obj[@N='Cmds']/LST/Obj")
        unescape = Serializer()._deserialize_string  # _xHHHH_ escapes
        return "\n".join(unescape(cmd.findtext("MS/S[@N='Cmd']")) for cmd in commands)


def _type_name(message_type: int) -> str:
    for name, value in vars(MessageType).items():
        if value == message_type and name.isupper():
            return name
    return hex(message_type)
