/** The sidecar's REST client (the integration guide's Patterns 1 and 5). */
export {
  type ErrorParams,
  type ExecutionParams,
  type LoggedEvent,
  type OrderParams,
  type SidecarAck,
  VcpClient,
  type VcpClientOptions,
  VcpHttpError,
} from './vcp-client.ts';
