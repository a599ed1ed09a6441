import { describe, expect, it } from 'vitest';
import { guestCmdline } from '../../app/main/image/vm-segment.js';
import { hostGuestArch, loadGuestImage } from '../../app/main/image/guest-image.js';
import { helperPath, vmPrerequisites } from '../support/helper-vm.js';
import { loadTranscripts, replayTranscript, scratchPlaceholders, transcriptApplies } from '../support/transcript.js';

// Every golden transcript, the VM ones included, against the built qemu-helper with real QEMU.
describe('qemu-helper replays the golden transcripts', () => {
  const pre = vmPrerequisites();
  it('has the helper and a guest image', () => {
    expect(pre.why).toBe('');
  });
  for (const t of loadTranscripts()) {
    it.runIf(pre.ok && transcriptApplies(t, { vm: true, style: 'unix' }))(t.name, async () => {
      const vm = t.requires.includes('vm');
      const arch = hostGuestArch();
      const img = vm ? await loadGuestImage(arch) : null;
      const { vars, cleanup } = scratchPlaceholders(
        img ? { kernel: img.kernel, initrd: img.initrd, arch, cmdline: guestCmdline({ shareKind: '9p', readOnly: true, channelKind: 'virtio-serial', arch }) } : undefined,
      );
      let log = '';
      try {
        const { messages } = await replayTranscript(t, {
          command: [helperPath()],
          placeholders: vars,
          messageTimeoutMs: vm ? 120_000 : 10_000,
          onStderr: (s) => (log = (log + s).slice(-8000)),
        });
        expect(messages.length).toBeGreaterThan(0);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nhelper stderr:\n${log}`);
      } finally {
        cleanup();
      }
    });
  }
});
