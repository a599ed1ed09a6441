import Foundation
import VZHelperCore
#if canImport(Virtualization)
import Virtualization
#else
import VirtualizationShim
#endif

/// Builds the VM configuration for a validated spec (BACKENDS.md §1.1): direct Linux boot, a
/// virtio console to the console log, one virtiofs device per share (read-only enforced by
/// the host), one virtio block device per disk in spec order (the guest's vda, vdb…; read-only
/// enforced by the host), one vsock device for the agent and data channels, an entropy device,
/// and NO network device.
enum VZConfigurationFactory {
    static func make(_ spec: VmSpec, consoleLog: FileHandle) throws -> VZVirtualMachineConfiguration {
        let boot = VZLinuxBootLoader(kernelURL: URL(fileURLWithPath: spec.kernel))
        boot.initialRamdiskURL = URL(fileURLWithPath: spec.initrd)
        boot.commandLine = BootCommandLine.forVZ(spec.cmdline)

        let config = VZVirtualMachineConfiguration()
        config.bootLoader = boot
        config.platform = VZGenericPlatformConfiguration()
        // The validator kept cpus ≤ maximumAllowedCPUCount (hello's maxCpus); the framework also has a floor.
        config.cpuCount = max(spec.cpus, VZVirtualMachineConfiguration.minimumAllowedCPUCount)
        config.memorySize = max(UInt64(spec.memoryMiB) * VZHost.mebibyte, VZVirtualMachineConfiguration.minimumAllowedMemorySize)

        let console = VZVirtioConsoleDeviceSerialPortConfiguration()
        console.attachment = VZFileHandleSerialPortAttachment(fileHandleForReading: nil, fileHandleForWriting: consoleLog)
        config.serialPorts = [console]

        config.directorySharingDevices = try spec.shares.map { share in
            do {
                try VZVirtioFileSystemDeviceConfiguration.validateTag(share.tag)
            } catch {
                throw HelperError.native(.invalidArgument, "shares: tag \"\(share.tag)\" is refused by Virtualization.framework", error: error)
            }
            let device = VZVirtioFileSystemDeviceConfiguration(tag: share.tag)
            let directory = VZSharedDirectory(url: URL(fileURLWithPath: share.hostPath, isDirectory: true), readOnly: share.readOnly)
            device.share = VZSingleDirectoryShare(directory: directory)
            return device
        }
        config.storageDevices = try spec.disks.enumerated().map { index, disk in try blockDevice(disk, member: "disks[\(index)]") }
        config.socketDevices = [VZVirtioSocketDeviceConfiguration()]   // the SSH channel and every data channel
        config.entropyDevices = [VZVirtioEntropyDeviceConfiguration()]
        config.networkDevices = []   // the guest has loopback only; egress goes through main's proxy over SSH

        do {
            try config.validate()
        } catch {
            let description = (error as NSError).localizedDescription
            if description.contains("com.apple.security.virtualization") {
                throw HelperError.native(.hypervisorUnavailable,
                    "vz-helper is not signed with the com.apple.security.virtualization entitlement (see native/vz-helper/README.md)", error: error)
            }
            throw HelperError.native(.invalidArgument, "VZVirtualMachineConfiguration.validate() refused the VM", error: error)
        }
        return config
    }

    /// A virtio block device on a raw disk image. `readOnly` is the attachment's, so the host
    /// refuses the guest's writes. The spec id becomes the device's serial where VZ has one
    /// (macOS 12.3+; the guest's /dev/disk/by-id/virtio-<id>).
    private static func blockDevice(_ disk: DiskSpec, member: String) throws -> VZVirtioBlockDeviceConfiguration {
        let attachment: VZDiskImageStorageDeviceAttachment
        do {
            attachment = try VZDiskImageStorageDeviceAttachment(url: URL(fileURLWithPath: disk.hostPath), readOnly: disk.readOnly)
        } catch {
            throw HelperError.native(.invalidArgument, "\(member).hostPath: Virtualization.framework cannot use \(disk.hostPath) as a raw disk image", error: error)
        }
        let device = VZVirtioBlockDeviceConfiguration(attachment: attachment)
        if #available(macOS 12.3, *) {
            // The validator's id rule ([a-z][a-z0-9-]{0,19}) is within VZ's (ASCII, ≤ 20 bytes); an
            // invalid identifier would be a fatal error, so it is checked first all the same.
            if (try? VZVirtioBlockDeviceConfiguration.validateBlockDeviceIdentifier(disk.id)) != nil {
                device.blockDeviceIdentifier = disk.id
            }
        }
        return device
    }
}
