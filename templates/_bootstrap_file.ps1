# hvdyn file-delivery decoder (PowerShell 2.0).
# Purpose: the fallback when a host does not read scripts from stdin
# (host var hvdyn_script_delivery: file). The transport appends the script's
# base64 text (UTF-8 bytes) to script.b64 in a fresh temp directory with short
# cmd.exe commands, then runs this file with -EncodedCommand in that directory.
# It writes script.ps1 (UTF-8 with BOM, so PowerShell 2.0 does not read it as
# ANSI); the transport then runs `powershell -File script.ps1` and removes the
# directory. Inputs: the current directory. Prints nothing. Exit code 0, or 1
# when the file cannot be decoded.
trap {
    [Console]::Error.WriteLine('hvdyn decoder: ' + $_)
    exit 1
}
$hvdynDir = [Environment]::CurrentDirectory
$hvdynB64 = [IO.File]::ReadAllText([IO.Path]::Combine($hvdynDir, 'script.b64'))
$hvdynBytes = [Convert]::FromBase64String($hvdynB64)
$hvdynText = (New-Object Text.UTF8Encoding $false).GetString($hvdynBytes)
[IO.File]::WriteAllText([IO.Path]::Combine($hvdynDir, 'script.ps1'), $hvdynText, (New-Object Text.UTF8Encoding $true))
exit 0
