// vz-helper: Vivarium's macOS helper. Speaks the helper protocol (native/protocol/PROTOCOL.md)
// on stdin/stdout and runs one Linux VM with Virtualization.framework.
import VZHelperCore

HelperMain.run(backend: VZBackend())
