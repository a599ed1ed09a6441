import Foundation
import VZHelperCore
#if canImport(Virtualization)
import Virtualization
#else
import VirtualizationShim
#endif

/// What this Mac offers, as `hello` reports it (features as data, PROTOCOL.md §5.1).
enum VZHost {
    static let helperName = "vz-helper"
    static let version = "0.1.0"
    static let mebibyte: UInt64 = 1 << 20

    static var hostArch: String {
        #if arch(arm64)
        return "arm64"
        #else
        return "x86_64"
        #endif
    }

    static func describe() -> BackendDescription {
        #if os(macOS)
        let available = VZVirtualMachine.isSupported
        let reason: String? = available ? nil :
            "this Mac cannot run virtual machines (VZVirtualMachine.isSupported is false): it needs Apple silicon or an Intel Mac with VT-x, and does not work inside a VM without nested virtualization"
        let maxCpus = min(VZVirtualMachineConfiguration.maximumAllowedCPUCount, ProcessInfo.processInfo.activeProcessorCount)
        let maxMemory = min(VZVirtualMachineConfiguration.maximumAllowedMemorySize, ProcessInfo.processInfo.physicalMemory)
        #else
        let available = false
        let reason: String? = "Virtualization.framework exists only on macOS; this build of vz-helper is for tests on \(hostArch) Linux"
        let maxCpus = ProcessInfo.processInfo.activeProcessorCount
        let maxMemory = ProcessInfo.processInfo.physicalMemory
        #endif
        let features = Features(accelerators: ["vz"], guestArchs: [hostArch], shareKinds: ["virtiofs"],
                                readOnlyShares: true, channelKinds: ["vsock"], consoleLog: true, snapshots: false,
                                maxCpus: maxCpus, maxMemoryMiB: Int(maxMemory / mebibyte),
                                diskFormats: ["raw"], readOnlyDisks: true, dataChannels: SpecLimits.maxDataChannels)
        return BackendDescription(helper: helperName, version: version, available: available, unavailableReason: reason,
                                  host: HostProfile(hostArch: hostArch, features: features, requiresUncompressedArm64Kernel: true))
    }
}
