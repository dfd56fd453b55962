$HvScript = 'collect'
$HvTarget = 'hv01.corp.example'
$HvSamples = 3
$HvInterval = 10
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$HvNs = 'root\virtualization'
$HvInv = [Globalization.CultureInfo]::InvariantCulture
$HvGuidRe = '^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\z'
$HvFields = @('dynamic', 'startup_mb', 'minimum_mb', 'maximum_mb', 'buffer', 'weight')
$HvS = @{ n = 0; rc = 0 }
$HvPs = $null
if ($PSVersionTable) { $HvPs = $PSVersionTable.PSVersion.ToString() }
function ConvertTo-HvJsonString([string]$s) {
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
$x = $e.Exception
if ($x -isnot [Management.ManagementException] -and $x.InnerException) { $x = $x.InnerException }
$c = $null
if ($x -is [Management.ManagementException]) { $c = [int]$x.ErrorCode }
@{ m = $m; c = $c }
}
function Out-HvHost {
$cs = Get-WmiObject -Class Win32_ComputerSystem | Select-Object -First 1
$os = Get-WmiObject -Class Win32_OperatingSystem | Select-Object -First 1
$reserve = $null
try {
$key = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization' -Name MemoryReserve -ErrorAction Stop
if ($null -ne $key.MemoryReserve) { $reserve = [long]$key.MemoryReserve }
} catch { }
$total = [long][Math]::Floor([double]$os.TotalVisibleMemorySize / 1024)
$free = [long][Math]::Floor([double]$os.FreePhysicalMemory / 1024)
Out-Hv 'host' 'name' ([string]$cs.Name) 'os' (([string]$os.Caption).Trim()) 'os_version' ([string]$os.Version) 'ps_version' $HvPs 'total_mb' $total 'free_mb' $free 'reserve_mb' $reserve
}
Out-Hv 'begin' 'script' $HvScript 'ps' $HvPs
$HvVmCounters = @('PhysicalMemory', 'GuestVisiblePhysicalMemory', 'CurrentPressure', 'AveragePressure', 'MinimumPressure', 'MaximumPressure', 'AddedMemory', 'RemovedMemory', 'MemoryAddOperations', 'MemoryRemoveOperations')
$HvBalCounters = @('AvailableMemory', 'AveragePressure')
$HvNotCounters = @('Name', 'Caption', 'Description', 'Frequency_Object', 'Frequency_PerfTime', 'Frequency_Sys100NS', 'Timestamp_Object', 'Timestamp_PerfTime', 'Timestamp_Sys100NS')
function Get-HvCounters($obj, $known) {
$have = @{}
foreach ($p in $obj.PSBase.Properties) {
if ($HvNotCounters -contains $p.Name) { continue }
$val = $null
if ($null -ne $p.Value) { try { $val = [long]$p.Value } catch { $val = $null } }
$have[$p.Name] = $val
}
$d = New-Object System.Collections.Specialized.OrderedDictionary
foreach ($n in $known) { $d[$n] = $null }
foreach ($n in @($have.Keys | Sort-Object)) { $d[$n] = $have[$n] }
$d
}
function Get-HvPerf($class) {
@(Get-WmiObject -Namespace root\cimv2 -Class $class | Sort-Object Name)
}
try {
$ids = New-Object System.Collections.Hashtable
foreach ($vm in @(Get-WmiObject -Namespace $HvNs -Class Msvm_ComputerSystem -Filter "Caption='Virtual Machine'" | Sort-Object Name)) {
if (-not $vm) { continue }
$en = [string]$vm.ElementName
$alt = $en.Replace('(', '[').Replace(')', ']').Replace('#', '_').Replace('/', '_').Replace('\', '_')
foreach ($k in @($en, $alt)) {
if (-not $ids.ContainsKey($k)) { $ids[$k] = @() }
if (-not ($ids[$k] -contains [string]$vm.Name)) { $ids[$k] = @($ids[$k]) + [string]$vm.Name }
}
}
for ($s = 0; $s -lt $HvSamples; $s++) {
if ($s -gt 0) { Start-Sleep -Seconds $HvInterval }
$ts = [DateTime]::UtcNow.ToString('s', $HvInv) + 'Z'
foreach ($o in (Get-HvPerf 'Win32_PerfFormattedData_BalancerStats_HyperVDynamicMemoryVM')) {
if (-not $o) { continue }
$n = [string]$o.Name
$vmIds = @()
if ($ids.ContainsKey($n)) { $vmIds = @($ids[$n]) }
Out-Hv 'sample' 'name' $n 'ids' $vmIds 'ts' $ts 'counters' (Get-HvCounters $o $HvVmCounters)
}
foreach ($o in (Get-HvPerf 'Win32_PerfFormattedData_BalancerStats_HyperVDynamicMemoryBalancer')) {
if (-not $o) { continue }
Out-Hv 'balancer' 'name' ([string]$o.Name) 'ts' $ts 'counters' (Get-HvCounters $o $HvBalCounters)
}
}
Out-HvHost
} catch {
$e = Get-HvErr $_
Out-Hv 'error' 'id' $null 'message' $e.m 'code' $e.c
$HvS.rc = 1
}
Out-HvEnd
exit $HvS.rc
