/** Capture by decoration: `@VcpLogged`, `@VcpComponent`, their configuration, metadata and error mapping. */
export type {
  CheckedModule,
  CheckedPayload,
  PayloadModules,
  UnknownPayloadKey,
  VendorKey,
} from './checked-payload.ts';
export { type VcpClassDecorator, VcpComponent } from './component.ts';
export {
  configureVcp,
  DEFAULT_REDACT_KEYS,
  getInstrumentStats,
  getVcpConfig,
  type InstrumentStats,
  resetVcpConfig,
  type SummaryLimits,
  type VcpConfig,
  type VcpConfigInput,
} from './configure.ts';
export {
  type VcpCallContext,
  type VcpExtractor,
  VcpLogged,
  type VcpLoggedOptions,
  type VcpMethodDecorator,
} from './decorator.ts';
export {
  buildErrorDetails,
  type ErrorDetailsInput,
  errorCodeOf,
  errorMessageOf,
  mapErrorToEventType,
} from './error-mapping.ts';
export {
  type ExpressNext,
  type ExpressRequestLike,
  type ExpressResponseLike,
  type VcpExpressMiddleware,
  type VcpExpressOptions,
  vcpExpress,
} from './express.ts';
export {
  type KoaContextLike,
  type KoaNext,
  type VcpKoaMiddleware,
  type VcpKoaOptions,
  vcpKoa,
} from './koa.ts';
export {
  getVcpMetadata,
  type HeaderValue,
  REFLECT_COMPONENT_KEY,
  REFLECT_METHODS_KEY,
  type VcpClassMetadata,
  type VcpComponentOptions,
  type VcpMethodRecord,
} from './metadata.ts';
export {
  type ClientAbortOptions,
  defaultHttpErrorType,
  type HttpCaptureOptions,
  type HttpErrorClassifier,
  type HttpOutcome,
  type RouteHeaderFields,
  type RouteInfo,
  type RouteMap,
  type RouteMapping,
} from './route-map.ts';
export { REDACTED, type Summary, summarizeValue } from './summary.ts';
