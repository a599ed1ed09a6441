import Foundation

/// The kernel command line the helper boots with: main's `cmdline` plus the helper's own
/// console parameter (PROTOCOL.md §5.2: "the helper appends its own console and platform
/// parameters"). VZ's virtio console appears in the guest as /dev/hvc0.
public enum BootCommandLine {
    public static let vzConsole = "console=hvc0"

    /// Appends `console=hvc0` unless main already chose a console.
    public static func forVZ(_ cmdline: String) -> String {
        let words = cmdline.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if words.contains(where: { $0.hasPrefix("console=") }) { return cmdline }
        return cmdline.isEmpty ? vzConsole : "\(cmdline) \(vzConsole)"
    }
}
