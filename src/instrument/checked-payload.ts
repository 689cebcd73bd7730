/**
 * Compile-time checks for what an extractor returns: the payload modules a
 * VCP v1.1 event defines, each with its spec fields, plus vendor fields whose
 * names start with `x_`. Anything else — `trade_dta`, `trade_data.pric` — is a
 * type error naming the key. Types only: at run time every field is kept and
 * hashed whatever its name (the wire types in core/types.ts stay open, since
 * events read from elsewhere may carry anything).
 */
import type {
  ErrorDetails,
  GovernanceData,
  PrivacyData,
  RecoveryData,
  RiskData,
  TradeData,
  XrefData,
} from '../core/types.ts';

/** A vendor extension key: `x_` followed by anything (`x_desk`, `x_strategy_tag`). */
export type VendorKey = `x_${string}`;

/** The payload modules of VCP v1.1, by payload key. */
export interface PayloadModules {
  trade_data: TradeData;
  vcp_risk: RiskData;
  vcp_gov: GovernanceData;
  vcp_privacy: PrivacyData;
  vcp_recovery: RecoveryData;
  error_details: ErrorDetails;
  vcp_xref: XrefData;
}

/** The declared keys of `T`, without its index signature. */
type DeclaredKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };

/** What an unknown key's value must be: a message, so the compiler's error names the key and the way out. */
export type UnknownPayloadKey<K> =
  `"${K & string}" is not a VCP v1.1 payload field (vendor fields start with x_)`;

/** A module `M` whose keys are the spec's for `Shape` or `x_*`; any other key's type becomes {@link UnknownPayloadKey}. */
export type CheckedModule<M, Shape> = M extends readonly unknown[]
  ? M
  : M extends object
    ? {
        [K in keyof M]: string extends K
          ? M[K]
          : K extends DeclaredKeys<Shape> | VendorKey
            ? M[K]
            : UnknownPayloadKey<K>;
      }
    : M;

/**
 * `P` with every key checked: a payload module (checked one level in) or an
 * `x_*` vendor field. An extractor's return type is `P & CheckedPayload<P>`,
 * so a misspelt key fails to compile while the fields' own types (decimal
 * strings for prices and quantities) are checked as before.
 */
export type CheckedPayload<P> = {
  // An index signature (a payload typed as the open `VcpPayload`) is not checked: only literal keys are.
  [K in keyof P]: string extends K
    ? P[K]
    : K extends keyof PayloadModules
      ? CheckedModule<P[K], PayloadModules[K]>
      : K extends VendorKey
        ? P[K]
        : UnknownPayloadKey<K>;
};
