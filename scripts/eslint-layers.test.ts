// The layer rules of STYLE.md 1-2 are only worth having if a wrong import really fails lint.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function importErrors(filePath: string, code: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath });
  return (res?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer import rules', () => {
  it('app/shared may not import node, electron or UI code', async () => {
    expect(await importErrors('app/shared/x.ts', "import { readFile } from 'node:fs/promises';\nexport const a = readFile;\n")).toHaveLength(1);
    expect(await importErrors('app/shared/x.ts', "import { app } from 'electron';\nexport const a = app;\n")).toHaveLength(1);
    expect(await importErrors('app/shared/x.ts', "import { create } from 'zustand';\nexport const a = create;\n")).toHaveLength(1);
    expect(await importErrors('app/shared/x.ts', "import { z } from 'zod';\nexport const a = z;\n")).toHaveLength(0);
  });

  it('app/renderer imports only app/shared and itself', async () => {
    expect(await importErrors('app/renderer/x.tsx', "import { x } from '../main/cli.js';\nexport const a = x;\n")).toHaveLength(1);
    expect(await importErrors('app/renderer/x.tsx', "import fs from 'fs';\nexport const a = fs;\n")).toHaveLength(1);
    expect(await importErrors('app/renderer/x.tsx', "import { Client } from 'ssh2';\nexport const a = Client;\n")).toHaveLength(1);
    expect(await importErrors('app/renderer/x.tsx', "import { ipcRenderer } from 'electron';\nexport const a = ipcRenderer;\n")).toHaveLength(1);
    expect(await importErrors('app/renderer/x.tsx', "import { VivError } from '../shared/errors.js';\nexport const a = VivError;\n")).toHaveLength(0);
  });

  it('only app/main/shell and app/preload import electron', async () => {
    expect(await importErrors('app/main/tasks/x.ts', "import { app } from 'electron';\nexport const a = app;\n")).toHaveLength(1);
    expect(await importErrors('app/main/shell/x.ts', "import { app } from 'electron';\nexport const a = app;\n")).toHaveLength(0);
  });

  it('raw ipcMain/ipcRenderer only in the two wrapper files', async () => {
    expect(await importErrors('app/main/shell/tray.ts', "import { ipcMain } from 'electron';\nexport const a = ipcMain;\n")).toHaveLength(1);
    expect(await importErrors('app/main/shell/ipc-main.ts', "import { ipcMain } from 'electron';\nexport const a = ipcMain;\n")).toHaveLength(0);
    expect(await importErrors('app/preload/preload.ts', "import { ipcRenderer } from 'electron';\nexport const a = ipcRenderer;\n")).toHaveLength(0);
  });
});
