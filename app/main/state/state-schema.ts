/**
 * The shape of state.json, version 1. Validated with zod on every load; unknown members are
 * dropped, missing optional ones get defaults, anything else makes the file "corrupt".
 */
import { z } from 'zod';
import { egressPolicySchema, grantSchema, idSchema, vmSettingsSchema } from '../../shared/contract-schemas.js';

/** VM sizing a new workspace gets. */
export const DEFAULT_VM_SETTINGS = { cpus: 2, memoryMiB: 512, keepState: false } as const;

/** One workspace as stored: its folder grant (null once revoked) and VM settings. */
export const storedWorkspaceSchema = z.object({
  id: idSchema,
  name: z.string(),
  grant: grantSchema.nullable(),
  settings: vmSettingsSchema.default({ ...DEFAULT_VM_SETTINGS }),
  /** Network policy; files written before egress existed have none: the network is off. */
  egress: egressPolicySchema.default({ mode: 'off' }),
  createdAt: z.number(),
});
export type StoredWorkspace = z.infer<typeof storedWorkspaceSchema>;

/** The whole of state.json. */
export const stateFileSchema = z.object({
  version: z.literal(1),
  workspaces: z.array(storedWorkspaceSchema),
});
export type StateFile = z.infer<typeof stateFileSchema>;

/** The state of a fresh install. */
export function emptyState(): StateFile {
  return { version: 1, workspaces: [] };
}
