<#
apply: write planned Dynamic Memory settings to VMs on one host (also used by
rollback, whose targets are the journaled "before" values).
Inputs (params): host; job_timeout_s, shutdown_timeout_s, start_timeout_s
(int seconds); force_off (bool: may hard power-off after the shutdown
deadline); retries, retry_delay_s (32774 "in use" backoff); vms: [{id (GUID),
name, expect_state, expect, target (the six FIELDS), offline (bool: a field
that needs the VM Off changes), restart (bool: may take a Running, Paused or
Saved VM to Off and back to its state)}].
Per VM, in its own try/catch, the 7 steps of hvdyn.scripts: find by GUID ->
re-check state and settings against expect (conflict) -> already target
(unchanged) -> resume if paused/saved, graceful shutdown when offline and
allowed (pending otherwise) -> ModifyVirtualSystemResources + job ->
admission re-check, start, heartbeat OK, back to paused/saved, if this
script stopped it -> read back.
Prints: begin; one result record per VM (id, outcome, code, message, state,
restarted, settings read back or null); error (id null) + exit 1 when the
script as a whole failed; end.
#>
# ---- data prologue: every value below is a PowerShell literal rendered by hvdyn.quoting
# Per VM: id, name, expect_state, expect (6 FIELDS), target (6 FIELDS), offline, restart.
$HvScript = 'apply'
$HvTarget = 'hv01.corp.example'
$HvJobTimeout = 300
$HvShutdownTimeout = 600
$HvStartTimeout = 300
$HvForceOff = $true
$HvRetries = 4
$HvRetryDelay = 2
$HvVms = @(
,@('5EED0000-0000-0000-0000-000000000000', 'web01', 2, @($true, 1024, 1024, 4096, 20, 5000), @($true, 1024, 1024, 8192, 20, 5000), $true, $true)
,@('5EED0000-0000-0000-0000-000000000001', 'O''Brien''s VM', 2, @($true, 1024, 1024, 4096, 20, 5000), @($true, 1024, 1024, 4096, 20, 7000), $false, $false)
,@('5EED0000-0000-0000-0000-000000000002', 'x’’; Remove-Item C:\ -Recurse; ‘‘', 2, @($true, 1024, 1024, 4096, 20, 5000), @($true, 1024, 1024, 8192, 20, 5000), $true, $false)
,@('5EED0000-0000-0000-0000-000000000003', '$(calc)', 2, @($true, 1024, 1024, 4096, 20, 5000), @($true, 1024, 1024, 4096, 20, 7000), $false, $true)
)
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

function Wait-HvResult($res, $what, $timeout) {
    # Return values: 0 done, 4096 job started (JobState 2..6 running, 7 completed).
    $rv = [int]$res.ReturnValue
    if ($rv -eq 0) { return $null }
    if ($rv -ne 4096) { return @{ c = $rv; m = $what + ' returned ' + $rv } }
    $deadline = (Get-Date).AddSeconds($timeout)
    $job = [wmi]$res.Job
    while ($job.JobState -ge 2 -and $job.JobState -le 6) {
        if ((Get-Date) -gt $deadline) { return @{ c = $null; m = $what + ': job still running after ' + $timeout + ' s' } }
        Start-Sleep -Milliseconds 250
        $job = [wmi]$res.Job
    }
    if ($job.JobState -ne 7) {
        return @{ c = [int]$job.ErrorCode; m = $what + ': job state ' + $job.JobState + ', error ' + $job.ErrorCode + ': ' + $job.ErrorDescription }
    }
    $null
}

function Wait-HvState($id, $want, $timeout) {
    $deadline = (Get-Date).AddSeconds($timeout)
    while ($true) {
        $vm = Get-HvVm $id
        if ($vm -and [int]$vm.EnabledState -eq $want) { return $true }
        if ((Get-Date) -gt $deadline) { return $false }
        Start-Sleep -Seconds 2
    }
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
Out-Hv 'begin' 'script' $HvScript 'ps' $HvPs

function Invoke-HvRetry($sb) {
    # 32774 (system in use): another operation holds the VM; back off (doubling) and retry.
    $delay = $HvRetryDelay
    $try = 0
    while ($true) {
        $res = & $sb
        if (-not $res -or $res.c -ne 32774 -or $try -ge $HvRetries) { return $res }
        Start-Sleep -Seconds $delay
        $delay = $delay * 2
        $try++
    }
}

function Set-HvState($id, $want) {
    # RequestStateChange: 2 start/resume, 3 turn off, 32768 pause, 32769 save.
    Invoke-HvRetry { $vmx = Get-HvVm $id; Wait-HvResult ($vmx.RequestStateChange($want)) ('RequestStateChange(' + $want + ')') $HvJobTimeout }
}

function Stop-HvVm($id) {
    # Graceful shutdown through the guest's shutdown IC; hard power-off only past the deadline and only with force_off.
    $sd = Get-WmiObject -Namespace $HvNs -Class Msvm_ShutdownComponent -Filter ("SystemName='" + $id + "'") | Select-Object -First 1
    if (-not $sd) { return @{ c = $null; m = 'no shutdown integration component; cannot shut the guest down gracefully' } }
    $rv = [int]$sd.InitiateShutdown($false, 'hvdyn: applying memory settings').ReturnValue
    # 32782: a shutdown is already in progress; wait for it like our own.
    if ($rv -ne 0 -and $rv -ne 32782) { return @{ c = $rv; m = 'InitiateShutdown returned ' + $rv } }
    if (Wait-HvState $id 3 $HvShutdownTimeout) { return $null }
    if (-not $HvForceOff) { return @{ c = $null; m = 'guest did not shut down within ' + $HvShutdownTimeout + ' s (force_off not allowed)' } }
    $w = Set-HvState $id 3
    if ($w) { return $w }
    if (Wait-HvState $id 3 $HvJobTimeout) { return $null }
    @{ c = $null; m = 'VM did not reach Off after RequestStateChange(3)' }
}

function Start-HvVm($id) {
    # Start (or resume), wait for Running, then for the guest's heartbeat to be OK.
    $w = Set-HvState $id 2
    if ($w) {
        if ($w.c -eq 32778) { $w.m = 'not enough free host memory to start the VM (32778)' }
        return $w
    }
    if (-not (Wait-HvState $id 2 $HvStartTimeout)) { return @{ c = $null; m = 'VM did not reach Running within ' + $HvStartTimeout + ' s' } }
    $deadline = (Get-Date).AddSeconds($HvStartTimeout)
    while ((Get-HvHeartbeat $id) -ne 2) {
        if ((Get-Date) -gt $deadline) { return @{ c = $null; m = 'VM is running but its heartbeat was not OK within ' + $HvStartTimeout + ' s' } }
        Start-Sleep -Seconds 2
    }
    $null
}

function Restore-HvState($id, $orig) {
    # Back to Paused (32768) or Saved (32769) when the VM was so before this script.
    if ($orig -ne 32768 -and $orig -ne 32769) { return $null }
    $vmx = Get-HvVm $id
    if ([int]$vmx.EnabledState -eq $orig) { return $null }
    $w = Set-HvState $id $orig
    if ($w) { return $w }
    if (Wait-HvState $id $orig $HvJobTimeout) { return $null }
    @{ c = $null; m = 'VM did not return to EnabledState ' + $orig }
}

function Get-HvFreeMb {
    # Admission re-check before a start: no Smart Paging on SP1, startup RAM must be free.
    $os = Get-WmiObject -Class Win32_OperatingSystem | Select-Object -First 1
    [long][Math]::Floor([double]$os.FreePhysicalMemory / 1024)
}

function Set-HvMem($vm, $id, $t) {
    $m = Get-HvMem $id
    $m.DynamicMemoryEnabled = [bool]$t[0]
    $m.VirtualQuantity = [uint64]$t[1]
    $m.Reservation = [uint64]$t[2]
    $m.Limit = [uint64]$t[3]
    $m.TargetMemoryBuffer = [uint32]$t[4]
    $m.Weight = [uint32]$t[5]
    $svc = Get-WmiObject -Namespace $HvNs -Class Msvm_VirtualSystemManagementService | Select-Object -First 1
    # GetText(1) = CIM DTD 2.0 embedded instance, as nova does.
    $text = $m.GetText(1)
    Invoke-HvRetry { Wait-HvResult ($svc.ModifyVirtualSystemResources($vm.__PATH, @($text))) 'ModifyVirtualSystemResources' $HvJobTimeout }
}

function Update-HvCluster($grp) {
    # Refresh the cluster's copy of the VM configuration (as pshyperv's Sync-VMClusterConfig does);
    # failure is reported in the result message, never fatal.
    try {
        if (-not $grp) { throw 'cluster group of the VM not found' }
        Import-Module FailoverClusters -ErrorAction Stop
        Get-ClusterGroup -Name $grp -ErrorAction Stop | Get-ClusterResource -ErrorAction Stop | Where-Object { [string]$_.ResourceType -eq 'Virtual Machine Configuration' } | Update-ClusterVirtualMachineConfiguration -ErrorAction Stop | Out-Null
        return $null
    } catch {
        return ('settings written, but Update-ClusterVirtualMachineConfiguration failed: ' + $_.Exception.Message)
    }
}

try {
    $clu = @{}
    if ($HvVms.Count -gt 0) { $clu = Get-HvClusterMap }
    foreach ($v in $HvVms) {
        $id = $v[0]
        $o = $null
        $state = 0
        $code = $null
        $msg = $null
        $stopped = $false
        $restarted = $false
        try {
            # 1. find by GUID
            $vm = Get-HvVm $id
            if (-not $vm) { $o = 'failed'; $msg = 'VM not found' }
            # 2-3. re-check against what the plan saw; skip when already at target
            if (-not $o) {
                $state = [int]$vm.EnabledState
                $cur = Get-HvSettings (Get-HvMem $id)
                if ($state -ne $v[2] -or -not (Test-HvSame $cur $v[3])) {
                    $o = 'conflict'
                    $msg = 'VM changed since the plan: state ' + $state + ', settings ' + ($cur -join ',')
                } elseif (Test-HvSame $cur $v[4]) { $o = 'unchanged' }
            }
            # 4. fields that need Off: a Running (or, when allowed, Paused/Saved) VM goes Off only when restart is allowed
            if (-not $o -and $v[5] -and $state -ne 3) {
                if ($v[6] -and ($state -eq 2 -or $state -eq 32768 -or $state -eq 32769)) {
                    $w = $null
                    if ($state -ne 2) { $w = Start-HvVm $id }
                    if (-not $w) { $w = Stop-HvVm $id }
                    if ($w) {
                        $o = 'failed'
                        $code = $w.c
                        $msg = $w.m
                        $b = Restore-HvState $id $v[2]
                        if ($b) { $msg = $msg + '; ' + $b.m }
                    } else { $stopped = $true; $state = 3 }
                } else { $o = 'pending'; $msg = 'needs the VM Off; EnabledState is ' + $state }
            }
            # 5. modify and wait for the job
            if (-not $o) {
                $w = Set-HvMem $vm $id $v[4]
                if ($w) {
                    if ($w.c -eq 32775 -and $state -ne 3) { $o = 'pending' } else { $o = 'failed' }
                    $code = $w.c
                    $msg = $w.m
                } elseif ($clu.ContainsKey($id)) { $msg = Update-HvCluster $clu[$id] }
            }
            # 6. what this script stopped: admission re-check, start, heartbeat, back to the original state
            if ($stopped) {
                if (-not $o) {
                    $free = Get-HvFreeMb
                    if ($free -lt $v[4][1]) {
                        $r = Set-HvMem $vm $id $v[3]
                        $o = 'failed'
                        $msg = 'admission: ' + $free + 'MB free, new startup needs ' + $v[4][1] + 'MB; '
                        if ($r) { $msg = $msg + 'restoring previous settings failed: ' + $r.m } else { $msg = $msg + 'previous settings restored' }
                    }
                }
                $w = Start-HvVm $id
                if (-not $w) {
                    $restarted = $true
                    $w = Restore-HvState $id $v[2]
                }
                if ($w) {
                    $o = 'failed'
                    if ($null -eq $code) { $code = $w.c }
                    $msg = (@($msg, $w.m) | Where-Object { $_ }) -join '; '
                }
            }
            if (-not $o) { $o = 'applied' }
        } catch {
            $e = Get-HvErr $_
            $o = 'failed'
            $code = $e.c
            $msg = $e.m
            if ($stopped -and -not $restarted) {
                try { if (-not (Start-HvVm $id)) { $restarted = $true } } catch { }
            }
        }
        # 7. read back what the host holds now; never trust the request
        $st = 0
        $set = $null
        try {
            $vm = Get-HvVm $id
            if ($vm) {
                $st = [int]$vm.EnabledState
                $set = ConvertTo-HvSet (Get-HvSettings (Get-HvMem $id))
            }
        } catch { }
        Out-Hv 'result' 'id' $id 'outcome' $o 'code' $code 'message' $msg 'state' $st 'restarted' $restarted 'settings' $set
    }
} catch {
    $e = Get-HvErr $_
    Out-Hv 'error' 'id' $null 'message' $e.m 'code' $e.c
    $HvS.rc = 1
}
Out-HvEnd
exit $HvS.rc
