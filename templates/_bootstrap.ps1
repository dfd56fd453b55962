# hvdyn stdin bootstrap (PowerShell 2.0).
# Purpose: run a script of any size without the command-line limit. The
# transport passes this file with -EncodedCommand and sends the real script on
# stdin as base64 text of its UTF-8 bytes, closed with End=true.
# Inputs: stdin (base64). Prints: whatever the script prints; no records itself.
# Exit code: the script's own `exit N`; 1 when stdin cannot be decoded or the
# script throws.
trap {
    [Console]::Error.WriteLine('hvdyn bootstrap: ' + $_)
    exit 1
}
$hvdynB64 = [string]::Join('', @($input))
if ($hvdynB64.Trim().Length -eq 0) {
    $hvdynB64 = [Console]::In.ReadToEnd()
}
$hvdynText = (New-Object Text.UTF8Encoding $false).GetString([Convert]::FromBase64String($hvdynB64))
Remove-Variable hvdynB64
$hvdynBlock = [ScriptBlock]::Create($hvdynText)
Remove-Variable hvdynText
. $hvdynBlock
exit $LASTEXITCODE
