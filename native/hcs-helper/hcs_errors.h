/*
 * hcs_errors: turns an HRESULT from computecore.dll (plus the HCS result document, if any)
 * into a helper-protocol error: a code from the closed set, one sentence a user can act on
 * (which Windows feature to enable, which group to join), and the native detail for `cause`.
 * Portable C11, unit-tested on Linux.
 *
 * HCS_E_* values: Windows SDK winerror.h (mingw-w64 10 lacks them), e.g. as ported in
 * TerraFX.Interop.Windows HCS.cs; hcsshim internal/hcs/errors.go for how HCS uses them.
 */
#ifndef HCS_ERRORS_H
#define HCS_ERRORS_H

#include <stdint.h>

#include "vv_buf.h"

#define HCS_E_TERMINATED_DURING_START 0x80370100u
#define HCS_E_IMAGE_MISMATCH 0x80370101u
#define HCS_E_HYPERV_NOT_INSTALLED 0x80370102u
#define HCS_E_INVALID_STATE 0x80370105u
#define HCS_E_UNEXPECTED_EXIT 0x80370106u
#define HCS_E_TERMINATED 0x80370107u
#define HCS_E_CONNECT_FAILED 0x80370108u
#define HCS_E_CONNECTION_TIMEOUT 0x80370109u
#define HCS_E_CONNECTION_CLOSED 0x8037010Au
#define HCS_E_UNKNOWN_MESSAGE 0x8037010Bu
#define HCS_E_UNSUPPORTED_PROTOCOL_VERSION 0x8037010Cu
#define HCS_E_INVALID_JSON 0x8037010Du
#define HCS_E_SYSTEM_NOT_FOUND 0x8037010Eu
#define HCS_E_SYSTEM_ALREADY_EXISTS 0x8037010Fu
#define HCS_E_SYSTEM_ALREADY_STOPPED 0x80370110u
#define HCS_E_PROTOCOL_ERROR 0x80370111u
#define HCS_E_WINDOWS_INSIDER_REQUIRED 0x80370113u
#define HCS_E_SERVICE_NOT_AVAILABLE 0x80370114u
#define HCS_E_OPERATION_NOT_STARTED 0x80370115u
#define HCS_E_OPERATION_ALREADY_STARTED 0x80370116u
#define HCS_E_OPERATION_PENDING 0x80370117u
#define HCS_E_OPERATION_TIMEOUT 0x80370118u
#define HCS_E_ACCESS_DENIED 0x8037011Bu
#define HCS_E_GUEST_CRITICAL_ERROR 0x8037011Cu
#define HCS_E_SERVICE_DISCONNECT 0x8037011Eu
#define HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION 0x80370120u

/* HRESULT_FROM_WIN32 for the Win32 errors that matter here. */
#define HCS_HR_WIN32(e) (0x80070000u | ((uint32_t)(e) & 0xFFFFu))

/* What one known HRESULT means for the protocol. */
typedef struct hcs_hresult_info {
    uint32_t hr;
    const char *name;   /* symbolic name, e.g. "HCS_E_ACCESS_DENIED" */
    const char *code;   /* protocol error code */
    const char *advice; /* plain words: what happened and what the user can do */
} hcs_hresult_info;

/* The entry for a known HRESULT, or NULL. */
const hcs_hresult_info *hcs_hresult_find(uint32_t hr);

/* The protocol code for any failing HRESULT ("internal" when unknown). */
const char *hcs_hresult_code(uint32_t hr);

/* Writes "0x80370102" (always 10 characters + NUL). */
void hcs_hresult_hex(uint32_t hr, char out[11]);

/* Appends the one-sentence message: "<call> failed: <advice>" for a known HRESULT, else
 * "<call> failed with HRESULT 0x...", followed by the HCS ErrorMessage from the result
 * document when there is one. Returns 0 or -1 (no memory). */
int hcs_error_message(vv_buf *out, const char *call, uint32_t hr, const char *result_doc);

/* Appends the `cause` object: {"call", "hresult", "name"?, "hcsResult"?}. A result document
 * that is valid JSON is embedded as JSON, anything else as a string. Returns 0 or -1. */
int hcs_error_cause(vv_buf *out, const char *call, uint32_t hr, const char *result_doc);

#endif
