// Linux-only declaration shim of the part of Apple's Virtualization framework that vz-helper uses.
// Purpose: let Sources/vz-helper type-check on Linux. Each declaration copies its Swift signature
// from Apple's documentation (developer.apple.com/documentation/virtualization/<symbol>), cited
// beside it. Bodies are not implementations: nothing here runs a VM, and the Linux build never
// calls into it (VZHost reports the hypervisor unavailable first). Never shipped; on macOS this
// file compiles to nothing and the real framework is imported instead.
#if os(Linux)
import Foundation

private func macOSOnly(_ symbol: String = #function) -> Never {
    fatalError("VirtualizationShim.\(symbol): Virtualization.framework exists only on macOS")
}

// MARK: boot loader and platform

/// doc: class VZBootLoader
open class VZBootLoader: NSObject {}

/// doc: class VZLinuxBootLoader — init(kernelURL: URL); var kernelURL: URL; var commandLine: String; var initialRamdiskURL: URL?
open class VZLinuxBootLoader: VZBootLoader {
    public var kernelURL: URL
    public var commandLine: String = ""
    public var initialRamdiskURL: URL?
    public init(kernelURL: URL) { self.kernelURL = kernelURL }
}

/// doc: class VZPlatformConfiguration
open class VZPlatformConfiguration: NSObject {}
/// doc: class VZGenericPlatformConfiguration (macOS 12+) — init()
open class VZGenericPlatformConfiguration: VZPlatformConfiguration {}

// MARK: console

/// doc: class VZSerialPortAttachment
open class VZSerialPortAttachment: NSObject {}
/// doc: class VZFileHandleSerialPortAttachment — init(fileHandleForReading: FileHandle?, fileHandleForWriting: FileHandle?)
open class VZFileHandleSerialPortAttachment: VZSerialPortAttachment {
    public init(fileHandleForReading: FileHandle?, fileHandleForWriting: FileHandle?) {}
}
/// doc: class VZSerialPortConfiguration — var attachment: VZSerialPortAttachment?
open class VZSerialPortConfiguration: NSObject {
    public var attachment: VZSerialPortAttachment?
}
/// doc: class VZVirtioConsoleDeviceSerialPortConfiguration — init()
open class VZVirtioConsoleDeviceSerialPortConfiguration: VZSerialPortConfiguration {}

// MARK: directory sharing (virtiofs)

/// doc: class VZSharedDirectory (macOS 12+) — init(url: URL, readOnly: Bool)
open class VZSharedDirectory: NSObject {
    public var url: URL
    public var isReadOnly: Bool
    public init(url: URL, readOnly: Bool) { self.url = url; self.isReadOnly = readOnly }
}
/// doc: class VZDirectoryShare
open class VZDirectoryShare: NSObject {}
/// doc: class VZSingleDirectoryShare — init(directory: VZSharedDirectory)
open class VZSingleDirectoryShare: VZDirectoryShare {
    public var directory: VZSharedDirectory
    public init(directory: VZSharedDirectory) { self.directory = directory }
}
/// doc: class VZDirectorySharingDeviceConfiguration
open class VZDirectorySharingDeviceConfiguration: NSObject {}
/// doc: class VZVirtioFileSystemDeviceConfiguration — init(tag: String); var tag: String;
/// var share: VZDirectoryShare?; class func validateTag(_ tag: String) throws
open class VZVirtioFileSystemDeviceConfiguration: VZDirectorySharingDeviceConfiguration {
    public var tag: String
    public var share: VZDirectoryShare?
    public init(tag: String) { self.tag = tag }
    open class func validateTag(_ tag: String) throws { macOSOnly() }
}

// MARK: storage (virtio block)

/// doc: class VZStorageDeviceAttachment
open class VZStorageDeviceAttachment: NSObject {}
/// doc: class VZDiskImageStorageDeviceAttachment — init(url: URL, readOnly: Bool) throws; var url: URL { get };
/// var isReadOnly: Bool { get }
open class VZDiskImageStorageDeviceAttachment: VZStorageDeviceAttachment {
    public init(url: URL, readOnly: Bool) throws { macOSOnly() }
    open var url: URL { macOSOnly() }
    open var isReadOnly: Bool { macOSOnly() }
}
/// doc: class VZStorageDeviceConfiguration — var attachment: VZStorageDeviceAttachment { get }
open class VZStorageDeviceConfiguration: NSObject {
    open var attachment: VZStorageDeviceAttachment { macOSOnly() }
}
/// doc: class VZVirtioBlockDeviceConfiguration — init(attachment: VZStorageDeviceAttachment);
/// var blockDeviceIdentifier: String { get set } (macOS 12.3+);
/// class func validateBlockDeviceIdentifier(_ blockDeviceIdentifier: String) throws (macOS 12.3+)
open class VZVirtioBlockDeviceConfiguration: VZStorageDeviceConfiguration {
    public init(attachment: VZStorageDeviceAttachment) {}
    open var blockDeviceIdentifier: String {
        get { macOSOnly() }
        set { macOSOnly() }
    }
    open class func validateBlockDeviceIdentifier(_ blockDeviceIdentifier: String) throws { macOSOnly() }
}

// MARK: vsock, entropy, network

/// doc: class VZSocketDeviceConfiguration
open class VZSocketDeviceConfiguration: NSObject {}
/// doc: class VZVirtioSocketDeviceConfiguration — init()
open class VZVirtioSocketDeviceConfiguration: VZSocketDeviceConfiguration {}
/// doc: class VZEntropyDeviceConfiguration
open class VZEntropyDeviceConfiguration: NSObject {}
/// doc: class VZVirtioEntropyDeviceConfiguration — init()
open class VZVirtioEntropyDeviceConfiguration: VZEntropyDeviceConfiguration {}
/// doc: class VZNetworkDeviceConfiguration
open class VZNetworkDeviceConfiguration: NSObject {}

/// doc: class VZSocketDevice
open class VZSocketDevice: NSObject {}
/// doc: class VZVirtioSocketDevice —
/// func connect(toPort port: UInt32, completionHandler: @escaping (Result<VZVirtioSocketConnection, any Error>) -> Void)
open class VZVirtioSocketDevice: VZSocketDevice {
    open func connect(toPort port: UInt32, completionHandler: @escaping (Result<VZVirtioSocketConnection, any Error>) -> Void) {
        macOSOnly()
    }
}
/// doc: class VZVirtioSocketConnection — var fileDescriptor: Int32 { get }; func close()
open class VZVirtioSocketConnection: NSObject {
    open var fileDescriptor: Int32 { macOSOnly() }
    open func close() { macOSOnly() }
}

// MARK: configuration

/// doc: class VZVirtualMachineConfiguration — init(); var bootLoader: VZBootLoader?; var platform: VZPlatformConfiguration;
/// var cpuCount: Int; var memorySize: UInt64; var serialPorts: [VZSerialPortConfiguration];
/// var directorySharingDevices: [VZDirectorySharingDeviceConfiguration]; var storageDevices: [VZStorageDeviceConfiguration];
/// var socketDevices: [VZSocketDeviceConfiguration];
/// var entropyDevices: [VZEntropyDeviceConfiguration]; var networkDevices: [VZNetworkDeviceConfiguration];
/// func validate() throws; class var minimumAllowedCPUCount: Int { get }; class var maximumAllowedCPUCount: Int { get };
/// class var minimumAllowedMemorySize: UInt64 { get }; class var maximumAllowedMemorySize: UInt64 { get }
open class VZVirtualMachineConfiguration: NSObject {
    public var bootLoader: VZBootLoader?
    public var platform: VZPlatformConfiguration = VZGenericPlatformConfiguration()
    public var cpuCount: Int = 1
    public var memorySize: UInt64 = 0
    public var serialPorts: [VZSerialPortConfiguration] = []
    public var directorySharingDevices: [VZDirectorySharingDeviceConfiguration] = []
    public var storageDevices: [VZStorageDeviceConfiguration] = []
    public var socketDevices: [VZSocketDeviceConfiguration] = []
    public var entropyDevices: [VZEntropyDeviceConfiguration] = []
    public var networkDevices: [VZNetworkDeviceConfiguration] = []
    open func validate() throws { macOSOnly() }
    open class var minimumAllowedCPUCount: Int { macOSOnly() }
    open class var maximumAllowedCPUCount: Int { macOSOnly() }
    open class var minimumAllowedMemorySize: UInt64 { macOSOnly() }
    open class var maximumAllowedMemorySize: UInt64 { macOSOnly() }
}

// MARK: the virtual machine

/// doc: protocol VZVirtualMachineDelegate — optional func guestDidStop(_ virtualMachine: VZVirtualMachine);
/// optional func virtualMachine(_ virtualMachine: VZVirtualMachine, didStopWithError error: any Error).
/// (Objective-C optional requirements become defaulted requirements here.)
public protocol VZVirtualMachineDelegate: NSObjectProtocol {
    func guestDidStop(_ virtualMachine: VZVirtualMachine)
    func virtualMachine(_ virtualMachine: VZVirtualMachine, didStopWithError error: any Error)
}
public extension VZVirtualMachineDelegate {
    func guestDidStop(_ virtualMachine: VZVirtualMachine) {}
    func virtualMachine(_ virtualMachine: VZVirtualMachine, didStopWithError error: any Error) {}
}

/// doc: class VZVirtualMachine — init(configuration: VZVirtualMachineConfiguration, queue: DispatchQueue);
/// class var isSupported: Bool { get }; var state: VZVirtualMachine.State { get }; weak var delegate: (any VZVirtualMachineDelegate)?;
/// var socketDevices: [VZSocketDevice] { get }; var canStop: Bool { get }; var canRequestStop: Bool { get };
/// func start(completionHandler: @escaping (Result<Void, any Error>) -> Void);
/// func stop(completionHandler: @escaping ((any Error)?) -> Void)  (macOS 12+); func requestStop() throws
open class VZVirtualMachine: NSObject {
    /// doc: enum VZVirtualMachine.State
    public enum State: Int {
        case stopped, running, paused, error, starting, pausing, resuming, stopping, saving, restoring
    }
    public init(configuration: VZVirtualMachineConfiguration, queue: DispatchQueue) {}
    open class var isSupported: Bool { macOSOnly() }
    open var state: State { macOSOnly() }
    public weak var delegate: (any VZVirtualMachineDelegate)?
    open var socketDevices: [VZSocketDevice] { macOSOnly() }
    open var canStop: Bool { macOSOnly() }
    open var canRequestStop: Bool { macOSOnly() }
    open func start(completionHandler: @escaping (Result<Void, any Error>) -> Void) { macOSOnly() }
    open func stop(completionHandler: @escaping ((any Error)?) -> Void) { macOSOnly() }
    open func requestStop() throws { macOSOnly() }
}
#endif
