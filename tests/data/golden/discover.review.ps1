<#
discover: read-only inventory of one Hyper-V host (WMI root\virtualization v1).
Inputs (params): host (str, the inventory name; informational only).
Prints: begin; host (name, os, os_version, ps_version, total_mb, free_mb,
reserve_mb); one vm record per VM (host object, snapshots and capability
definitions excluded), sorted by GUID; error (id = VM GUID) for a VM that
could not be read; error (id null) + exit 1 when the script as a whole
failed; end. Changes nothing on the host.
#>
# ---- data prologue: every value below is a PowerShell literal rendered by hvdyn.quoting
$HvScript = 'discover'
$HvTarget = 'hv01.corp.example'
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

function Get-HvVm($id) {
    # Only a validated GUID ever reaches the WQL filter.
    if (-not ([string]$id -cmatch $HvGuidRe)) { throw ('not a VM GUID: ' + $id) }
    Get-WmiObject -Namespace $HvNs -Class Msvm_ComputerSystem -Filter ("Name='" + $id + "'") | Select-Object -First 1
}

function Get-HvMem($id) {
    # Active settings only (InstanceID 'Microsoft:<GUID>'); snapshots have other InstanceIDs.
    if (-not ([string]$id -cmatch $HvGuidRe)) { throw ('not a VM GUID: ' + $id) }
    $vssd = Get-WmiObject -Namespace $HvNs -Class Msvm_VirtualSystemSettingData -Filter ("InstanceID='Microsoft:" + $id + "'") | Select-Object -First 1
    if (-not $vssd) { throw 'active settings (Msvm_VirtualSystemSettingData) not found' }
    $m = $vssd.GetRelated('Msvm_MemorySettingData') | Select-Object -First 1
    if (-not $m) { throw 'memory settings (Msvm_MemorySettingData) not found' }
    $m
}

function Get-HvSettings($m) {
    # Same order as $HvFields; sizes in MB. Reservation is the minimum.
    @([bool]$m.DynamicMemoryEnabled, [long]$m.VirtualQuantity, [long]$m.Reservation, [long]$m.Limit, [long]$m.TargetMemoryBuffer, [long]$m.Weight)
}

function ConvertTo-HvSet($a) {
    $d = New-Object System.Collections.Specialized.OrderedDictionary
    for ($i = 0; $i -lt 6; $i++) { $d[$HvFields[$i]] = $a[$i] }
    $d
}

function Test-HvSame($a, $b) {
    for ($i = 0; $i -lt 6; $i++) { if ($a[$i] -ne $b[$i]) { return $false } }
    $true
}

function Get-HvGuest($id) {
    # KVP GuestIntrinsicExchangeItems: embedded Msvm_KvpExchangeDataItem XML; empty when off or IC absent.
    $g = @{ os = $null; ver = $null; arch = $null; ic = $null }
    $k = Get-WmiObject -Namespace $HvNs -Class Msvm_KvpExchangeComponent -Filter ("SystemName='" + $id + "'") | Select-Object -First 1
    if ($k -and $k.GuestIntrinsicExchangeItems) {
        foreach ($item in @($k.GuestIntrinsicExchangeItems)) {
            if (-not $item) { continue }
            $x = [xml]$item
            $n = $x.SelectSingleNode('/INSTANCE/PROPERTY[@NAME=''Name'']/VALUE')
            $d = $x.SelectSingleNode('/INSTANCE/PROPERTY[@NAME=''Data'']/VALUE')
            if (-not $n -or -not $d) { continue }
            $val = [string]$d.InnerText
            switch ([string]$n.InnerText) {
                'OSName' { $g.os = $val }
                'OSVersion' { $g.ver = $val }
                'IntegrationServicesVersion' { $g.ic = $val }
                # 9 = AMD64, 0 = x86 (Win32 PROCESSOR_ARCHITECTURE values).
                'ProcessorArchitecture' { if ($val -eq '9') { $g.arch = 'x64' } elseif ($val -eq '0') { $g.arch = 'x86' } }
            }
        }
    }
    $g
}

function Get-HvHeartbeat($id) {
    # OperationalStatus[0]: 2 OK, 6 Error, 12 No Contact, 13 Lost Communication.
    $h = Get-WmiObject -Namespace $HvNs -Class Msvm_HeartbeatComponent -Filter ("SystemName='" + $id + "'") | Select-Object -First 1
    if ($h -and $null -ne $h.OperationalStatus) { return [int](@($h.OperationalStatus)[0]) }
    $null
}

function Get-HvClusterMap {
    # Best effort: root\MSCluster exists only on cluster nodes; any failure means "not clustered".
    # VM GUID -> name of the cluster group holding its "Virtual Machine" resource ($null if unknown).
    $map = @{}
    try {
        $rs = @(Get-WmiObject -Namespace root\MSCluster -Class MSCluster_Resource -Filter "Type='Virtual Machine'" -ErrorAction Stop)
        foreach ($r in $rs) {
            if (-not $r) { continue }
            $vmid = [string]$r.PrivateProperties.VmID
            if (-not $vmid) { continue }
            $grp = $null
            try { $grp = [string]($r.GetRelated('MSCluster_ResourceGroup') | Select-Object -First 1).Name } catch { }
            $map[$vmid.Trim('{}')] = $grp
        }
    } catch { }
    $map
}
function Out-HvHost {
    $cs = Get-WmiObject -Class Win32_ComputerSystem | Select-Object -First 1
    $os = Get-WmiObject -Class Win32_OperatingSystem | Select-Object -First 1
    # MemoryReserve: REG_DWORD in MB; absent unless an admin set it.
    $reserve = $null
    try {
        $key = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization' -Name MemoryReserve -ErrorAction Stop
        if ($null -ne $key.MemoryReserve) { $reserve = [long]$key.MemoryReserve }
    } catch { }
    # Win32_OperatingSystem sizes are KB.
    $total = [long][Math]::Floor([double]$os.TotalVisibleMemorySize / 1024)
    $free = [long][Math]::Floor([double]$os.FreePhysicalMemory / 1024)
    Out-Hv 'host' 'name' ([string]$cs.Name) 'os' (([string]$os.Caption).Trim()) 'os_version' ([string]$os.Version) 'ps_version' $HvPs 'total_mb' $total 'free_mb' $free 'reserve_mb' $reserve
}

Out-Hv 'begin' 'script' $HvScript 'ps' $HvPs
try {
    Out-HvHost
    $clu = Get-HvClusterMap
    # Caption='Virtual Machine' excludes the 'Hosting Computer System' object.
    $vms = @(Get-WmiObject -Namespace $HvNs -Class Msvm_ComputerSystem -Filter "Caption='Virtual Machine'" | Sort-Object Name)
    foreach ($vm in $vms) {
        if (-not $vm) { continue }
        $id = [string]$vm.Name
        try {
            $c = Get-HvSettings (Get-HvMem $id)
            $g = Get-HvGuest $id
            $hb = Get-HvHeartbeat $id
            Out-Hv 'vm' 'id' $id 'name' ([string]$vm.ElementName) 'state' ([int]$vm.EnabledState) 'dynamic' $c[0] 'startup_mb' $c[1] 'minimum_mb' $c[2] 'maximum_mb' $c[3] 'buffer' $c[4] 'weight' $c[5] 'os' $g.os 'os_version' $g.ver 'arch' $g.arch 'ic_version' $g.ic 'heartbeat' $hb 'clustered' ($clu.ContainsKey($id))
        } catch {
            $e = Get-HvErr $_
            Out-Hv 'error' 'id' $id 'message' $e.m 'code' $e.c
        }
    }
} catch {
    $e = Get-HvErr $_
    Out-Hv 'error' 'id' $null 'message' $e.m 'code' $e.c
    $HvS.rc = 1
}
Out-HvEnd
exit $HvS.rc
