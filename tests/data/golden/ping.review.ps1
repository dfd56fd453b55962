<#
ping: read-only reachability check for `hvdyn ping`.
Inputs (params): host (str, the inventory name; informational only),
delivery (str, the transport's delivery mode; echoed back so the record
proves that this mode delivered the script).
Prints: begin; ping (ps_version, os, virtualization: whether WMI
root\virtualization answers with its management service, delivery); end.
Changes nothing on the host. Exit code 0 unless the prelude itself failed.
#>
# ---- data prologue: every value below is a PowerShell literal rendered by hvdyn.quoting
$HvScript = 'ping'
$HvTarget = 'hv01.corp.example'
$HvDelivery = 'stdin'
<#
_prelude: shared PowerShell 2.0 code, included by every hvdyn script right
after its data prologue. Takes no data itself: it reads $HvScript (the script
name) set by the prologue. Prints the `begin` record.
The including template sets the Jinja list `helpers` to the optional groups
it needs (vm, wait, guest, heartbeat, cluster, host) so unused functions are not sent.

Provides (always):
  Out-Hv TYPE KEY VALUE ...  build one record (keys in the order given) and
                             print it as an `HVDYN1 <json>` line; counts it
  Out-HvEnd                  print the `end` record with the count
  Get-HvErr $_               @{ m = message (+ script line); c = code or $null }
  ConvertTo-HvJson VALUE     the JSON writer (rules below)
Group vm:
  Get-HvVm ID                Msvm_ComputerSystem by GUID ($null when absent)
  Get-HvMem ID               the active memory RASD (Msvm_MemorySettingData)
  Get-HvSettings RASD        @(dynamic, startup, minimum, maximum, buffer, weight)
  ConvertTo-HvSet ARRAY      that array as an ordered object with the FIELDS names
  Test-HvSame A B            the two 6-value arrays are equal
Group wait:
  Wait-HvResult RES WHAT T   0 -> ok, 4096 -> wait for the job up to T s;
                             returns $null on success, else @{ c = code; m = text }
  Wait-HvState ID STATE T    poll EnabledState until STATE or T s; $true/$false
Group guest:
  Get-HvGuest ID             KVP: @{ os; ver; arch; ic } (each $null when unknown)
  Get-HvHeartbeat ID         OperationalStatus[0] of the heartbeat IC, or $null
Group heartbeat:
  Get-HvHeartbeat ID         (alone, without the KVP reader)
Group cluster:
  Get-HvClusterMap           VM GUID -> cluster group name (clustered VMs only;
                             empty when the host is not a cluster node)
Group host:
  Out-HvHost                 print the `host` record

JSON writer rules (ConvertTo-HvJson), matching hvdyn.protocol:
  - output is ASCII only: in strings, `"` -> \", `\` -> \\, every char below
    0x20 or above 0x7E -> \uXXXX (UTF-16 code units, so a non-BMP character
    becomes a surrogate pair \uD83D\uDE00); nothing else is escaped;
  - $null -> null, [bool] -> true/false;
  - integer types -> digits via the invariant culture; [double]/[single] ->
    round-trip ("R") invariant form, NaN and infinities -> null;
  - IDictionary -> object with keys in the dictionary's own order (records
    use OrderedDictionary, so key order is the order written);
  - other IEnumerable (arrays) -> array; anything else -> its string form.
#>
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$HvNs = 'root\virtualization'
$HvInv = [Globalization.CultureInfo]::InvariantCulture
# Case-sensitive and anchored with \z: '$' would also match before a trailing newline.
$HvGuidRe = '^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\z'
$HvFields = @('dynamic', 'startup_mb', 'minimum_mb', 'maximum_mb', 'buffer', 'weight')
# Script state lives in one hashtable so functions can update it from any scope.
$HvS = @{ n = 0; rc = 0 }
$HvPs = $null
if ($PSVersionTable) { $HvPs = $PSVersionTable.PSVersion.ToString() }

function ConvertTo-HvJsonString([string]$s) {
    # Fast path: nothing to escape (-cmatch: case-insensitive matching could fold non-ASCII into the range).
    if ($s -cmatch '^[\x20\x21\x23-\x5B\x5D-\x7E]*\z') { return '"' + $s + '"' }
    $sb = New-Object System.Text.StringBuilder
    [void]$sb.Append('"')
    foreach ($ch in $s.ToCharArray()) {
        $n = [int]$ch
        if ($n -eq 34) { [void]$sb.Append('\"') }
        elseif ($n -eq 92) { [void]$sb.Append('\\') }
        elseif ($n -lt 32 -or $n -gt 126) { [void]$sb.Append('\u').Append($n.ToString('x4', $HvInv)) }
        else { [void]$sb.Append($ch) }
    }
    [void]$sb.Append('"')
    $sb.ToString()
}

function ConvertTo-HvJson($v) {
    if ($null -eq $v) { return 'null' }
    if ($v -is [bool]) { if ($v) { return 'true' } return 'false' }
    if ($v -is [string] -or $v -is [char]) { return ConvertTo-HvJsonString ([string]$v) }
    if ($v -is [int] -or $v -is [long] -or $v -is [uint32] -or $v -is [uint64] -or $v -is [int16] -or $v -is [uint16] -or $v -is [byte] -or $v -is [sbyte] -or $v -is [decimal]) {
        return $v.ToString($HvInv)
    }
    if ($v -is [double] -or $v -is [single]) {
        if ([double]::IsNaN($v) -or [double]::IsInfinity($v)) { return 'null' }
        return $v.ToString('R', $HvInv)
    }
    if ($v -is [Collections.IDictionary]) {
        $parts = @()
        # PSBase: a key named 'Keys' must not shadow the property.
        foreach ($k in @($v.PSBase.Keys)) {
            $parts += (ConvertTo-HvJsonString ([string]$k)) + ':' + (ConvertTo-HvJson $v[$k])
        }
        return '{' + ($parts -join ',') + '}'
    }
    if ($v -is [Collections.IEnumerable]) {
        $parts = @()
        foreach ($x in $v) { $parts += (ConvertTo-HvJson $x) }
        return '[' + ($parts -join ',') + ']'
    }
    ConvertTo-HvJsonString ([string]$v)
}

function Out-Hv {
    $d = New-Object System.Collections.Specialized.OrderedDictionary
    $d['t'] = $args[0]
    for ($i = 1; $i -lt $args.Count; $i += 2) { $d[[string]$args[$i]] = $args[$i + 1] }
    $HvS.n = $HvS.n + 1
    'HVDYN1 ' + (ConvertTo-HvJson $d)
}

function Out-HvEnd {
    # Not counted: `records` counts every record before this one.
    $d = New-Object System.Collections.Specialized.OrderedDictionary
    $d['t'] = 'end'
    $d['records'] = $HvS.n
    'HVDYN1 ' + (ConvertTo-HvJson $d)
}

function Get-HvErr($e) {
    $m = [string]$e.Exception.Message
    if ($e.InvocationInfo -and $e.InvocationInfo.ScriptLineNumber) {
        $m = $m + ' (script line ' + $e.InvocationInfo.ScriptLineNumber + ')'
    }
    # WMI method failures arrive wrapped (MethodInvocationException); the code is on the inner one.
    $x = $e.Exception
    if ($x -isnot [Management.ManagementException] -and $x.InnerException) { $x = $x.InnerException }
    $c = $null
    if ($x -is [Management.ManagementException]) { $c = [int]$x.ErrorCode }
    @{ m = $m; c = $c }
}

Out-Hv 'begin' 'script' $HvScript 'ps' $HvPs
$osName = $null
try {
    $os = Get-WmiObject -Class Win32_OperatingSystem | Select-Object -First 1
    $osName = (([string]$os.Caption).Trim() + ' ' + [string]$os.Version).Trim()
} catch { }
$virt = $false
try {
    $svc = @(Get-WmiObject -Namespace $HvNs -Class Msvm_VirtualSystemManagementService)
    $virt = ($svc.Count -gt 0)
} catch { }
Out-Hv 'ping' 'ps_version' $HvPs 'os' $osName 'virtualization' $virt 'delivery' $HvDelivery
Out-HvEnd
exit $HvS.rc
