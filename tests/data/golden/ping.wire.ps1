$HvScript = 'ping'
$HvTarget = 'hv01.corp.example'
$HvDelivery = 'stdin'
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
