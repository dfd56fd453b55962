$HvScript = 'discover'
$HvTarget = 'hv01.corp.example'
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
function Get-HvVm($id) {
if (-not ([string]$id -cmatch $HvGuidRe)) { throw ('not a VM GUID: ' + $id) }
Get-WmiObject -Namespace $HvNs -Class Msvm_ComputerSystem -Filter ("Name='" + $id + "'") | Select-Object -First 1
}
function Get-HvMem($id) {
if (-not ([string]$id -cmatch $HvGuidRe)) { throw ('not a VM GUID: ' + $id) }
$vssd = Get-WmiObject -Namespace $HvNs -Class Msvm_VirtualSystemSettingData -Filter ("InstanceID='Microsoft:" + $id + "'") | Select-Object -First 1
if (-not $vssd) { throw 'active settings (Msvm_VirtualSystemSettingData) not found' }
$m = $vssd.GetRelated('Msvm_MemorySettingData') | Select-Object -First 1
if (-not $m) { throw 'memory settings (Msvm_MemorySettingData) not found' }
$m
}
function Get-HvSettings($m) {
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
'ProcessorArchitecture' { if ($val -eq '9') { $g.arch = 'x64' } elseif ($val -eq '0') { $g.arch = 'x86' } }
}
}
}
$g
}
function Get-HvHeartbeat($id) {
$h = Get-WmiObject -Namespace $HvNs -Class Msvm_HeartbeatComponent -Filter ("SystemName='" + $id + "'") | Select-Object -First 1
if ($h -and $null -ne $h.OperationalStatus) { return [int](@($h.OperationalStatus)[0]) }
$null
}
function Get-HvClusterMap {
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
try {
Out-HvHost
$clu = Get-HvClusterMap
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
