/**
 * The slice of the FIX data dictionary the adapter needs: tag numbers, the
 * enumerations it maps to VCP words, and which ExecutionReport outcome
 * becomes which VCP event type.
 *
 * Only values we are sure of across FIX 4.2, 4.4 and 5.0SP2 are listed. A
 * value not listed is never guessed: the mapped field keeps the value exactly
 * as it came (`side: 'Z'`), so nothing is invented and nothing is lost.
 *
 * ## Event types of the requests (decided here)
 *
 * | FIX message                         | VCP event   | `trade_data.order_status` |
 * |-------------------------------------|-------------|---------------------------|
 * | NewOrderSingle (D)                  | `ORD`       | —                         |
 * | OrderCancelRequest (F)              | `CXL`       | `PENDING_CANCEL`          |
 * | OrderCancelReplaceRequest (G)       | `MOD`       | `PENDING_REPLACE`         |
 * | ExecutionReport 150=4 (Canceled)    | `CXL`       | from OrdStatus (39)       |
 * | ExecutionReport 150=5 (Replaced)    | `MOD`       | from OrdStatus (39)       |
 * | OrderCancelReject (9)               | `ERR_REJECT`| from OrdStatus (39)       |
 *
 * A request and its confirmation share the event type of the action (cancel,
 * modify), so one order's `CXL` events tell the whole story of its cancel;
 * they are told apart by `payload.fix.msg_type` (`F` vs `8`) and by
 * `order_status` (`PENDING_CANCEL` vs `CANCELED`). Counting cancelled orders
 * therefore means counting `CXL` events whose `fix.msg_type` is `8`.
 * (The alternative, `ORD` for every request sent, would make "orders sent"
 * count cancels and replaces as new orders.)
 */
import type { EventType } from '../../core/event-types.ts';

/** Tag numbers used by the adapter, by FIX field name. */
export const TAG = {
  Account: 1,
  AvgPx: 6,
  BeginString: 8,
  BodyLength: 9,
  CheckSum: 10,
  ClOrdID: 11,
  Commission: 12,
  CommType: 13,
  CumQty: 14,
  Currency: 15,
  ExecID: 17,
  ExecTransType: 20,
  LastMkt: 30,
  LastPx: 31,
  LastQty: 32,
  MsgSeqNum: 34,
  MsgType: 35,
  NewSeqNo: 36,
  OrderID: 37,
  OrderQty: 38,
  OrdStatus: 39,
  OrdType: 40,
  OrigClOrdID: 41,
  PossDupFlag: 43,
  Price: 44,
  RefSeqNum: 45,
  SecurityID: 48,
  SenderCompID: 49,
  SendingTime: 52,
  Side: 54,
  Symbol: 55,
  TargetCompID: 56,
  Text: 58,
  TimeInForce: 59,
  TransactTime: 60,
  PossResend: 97,
  StopPx: 99,
  ExDestination: 100,
  CxlRejReason: 102,
  OrdRejReason: 103,
  GapFillFlag: 123,
  ResetSeqNumFlag: 141,
  ExecType: 150,
  LeavesQty: 151,
  RefTagID: 371,
  RefMsgType: 372,
  SessionRejectReason: 373,
  BusinessRejectRefID: 379,
  BusinessRejectReason: 380,
  CxlRejResponseTo: 434,
  ApplVerID: 1128,
} as const;

/** MsgType (35) values the adapter acts on. */
export const MSG_TYPE = {
  Heartbeat: '0',
  TestRequest: '1',
  ResendRequest: '2',
  Reject: '3',
  SequenceReset: '4',
  Logout: '5',
  ExecutionReport: '8',
  OrderCancelReject: '9',
  Logon: 'A',
  NewOrderSingle: 'D',
  OrderCancelRequest: 'F',
  OrderCancelReplaceRequest: 'G',
  BusinessMessageReject: 'j',
} as const;

/** Message types sent by the side that owns the order (buy side): their SenderCompID is the client. */
export const CLIENT_ORIGINATED: ReadonlySet<string> = new Set(['D', 'F', 'G']);

/** Side (54). 7 = Undisclosed, 8 = Cross, 9 = Cross short, … */
export const SIDE: Readonly<Record<string, string>> = {
  '1': 'BUY',
  '2': 'SELL',
  '3': 'BUY_MINUS',
  '4': 'SELL_PLUS',
  '5': 'SELL_SHORT',
  '6': 'SELL_SHORT_EXEMPT',
  '7': 'UNDISCLOSED',
  '8': 'CROSS',
  '9': 'CROSS_SHORT',
};

/** OrdType (40). */
export const ORD_TYPE: Readonly<Record<string, string>> = {
  '1': 'MARKET',
  '2': 'LIMIT',
  '3': 'STOP',
  '4': 'STOP_LIMIT',
  '5': 'MARKET_ON_CLOSE',
  '6': 'WITH_OR_WITHOUT',
  '7': 'LIMIT_OR_BETTER',
  '8': 'LIMIT_WITH_OR_WITHOUT',
  '9': 'ON_BASIS',
  D: 'PREVIOUSLY_QUOTED',
  E: 'PREVIOUSLY_INDICATED',
  G: 'FOREX_SWAP',
  I: 'FUNARI',
  J: 'MARKET_IF_TOUCHED',
  K: 'MARKET_WITH_LEFTOVER_AS_LIMIT',
  P: 'PEGGED',
};

/** TimeInForce (59). */
export const TIME_IN_FORCE: Readonly<Record<string, string>> = {
  '0': 'DAY',
  '1': 'GTC',
  '2': 'OPG',
  '3': 'IOC',
  '4': 'FOK',
  '5': 'GTX',
  '6': 'GTD',
  '7': 'AT_THE_CLOSE',
};

/** OrdStatus (39). */
export const ORD_STATUS: Readonly<Record<string, string>> = {
  '0': 'NEW',
  '1': 'PARTIALLY_FILLED',
  '2': 'FILLED',
  '3': 'DONE_FOR_DAY',
  '4': 'CANCELED',
  '5': 'REPLACED',
  '6': 'PENDING_CANCEL',
  '7': 'STOPPED',
  '8': 'REJECTED',
  '9': 'SUSPENDED',
  A: 'PENDING_NEW',
  B: 'CALCULATED',
  C: 'EXPIRED',
  D: 'ACCEPTED_FOR_BIDDING',
  E: 'PENDING_REPLACE',
};

/** ExecType (150). `1`/`2` are FIX 4.2's partial fill / fill (replaced by `F` Trade in 4.4). */
export const EXEC_TYPE: Readonly<Record<string, string>> = {
  '0': 'NEW',
  '1': 'PARTIAL_FILL',
  '2': 'FILL',
  '3': 'DONE_FOR_DAY',
  '4': 'CANCELED',
  '5': 'REPLACED',
  '6': 'PENDING_CANCEL',
  '7': 'STOPPED',
  '8': 'REJECTED',
  '9': 'SUSPENDED',
  A: 'PENDING_NEW',
  B: 'CALCULATED',
  C: 'EXPIRED',
  D: 'RESTATED',
  E: 'PENDING_REPLACE',
  F: 'TRADE',
  G: 'TRADE_CORRECT',
  H: 'TRADE_CANCEL',
  I: 'ORDER_STATUS',
};

/**
 * ExecType (150) → VCP event type. `'FILL'` means PRT or EXE, decided by
 * OrdStatus/LeavesQty (see `fillEventType` in mapper.ts). ExecTypes not
 * listed (done for day, stopped, suspended, restated, trade corrections and
 * busts, status replies, …) become `AUD` records, or are skipped when the
 * adapter is told so: they are facts about the order but not lifecycle steps.
 */
export const EXEC_TYPE_EVENT: Readonly<Record<string, EventType | 'FILL'>> = {
  '0': 'ACK',
  A: 'ACK',
  '1': 'FILL',
  '2': 'FILL',
  F: 'FILL',
  '4': 'CXL',
  '6': 'CXL',
  C: 'CXL',
  '5': 'MOD',
  E: 'MOD',
  '8': 'REJ',
};

/** OrdStatus values after which no further executions are expected. */
export const TERMINAL_ORD_STATUS: ReadonlySet<string> = new Set(['2', '4', '8', 'C']);

/** OrdRejReason (103). */
export const ORD_REJ_REASON: Readonly<Record<string, string>> = {
  '0': 'BROKER_OPTION',
  '1': 'UNKNOWN_SYMBOL',
  '2': 'EXCHANGE_CLOSED',
  '3': 'ORDER_EXCEEDS_LIMIT',
  '4': 'TOO_LATE_TO_ENTER',
  '5': 'UNKNOWN_ORDER',
  '6': 'DUPLICATE_ORDER',
  '7': 'DUPLICATE_OF_VERBAL_ORDER',
  '8': 'STALE_ORDER',
  '11': 'UNSUPPORTED_ORDER_CHARACTERISTIC',
  '13': 'INCORRECT_QUANTITY',
  '15': 'UNKNOWN_ACCOUNT',
  '99': 'OTHER',
};

/** CxlRejReason (102). */
export const CXL_REJ_REASON: Readonly<Record<string, string>> = {
  '0': 'TOO_LATE_TO_CANCEL',
  '1': 'UNKNOWN_ORDER',
  '2': 'BROKER_OPTION',
  '3': 'ALREADY_PENDING_CANCEL_OR_REPLACE',
  '4': 'UNABLE_TO_PROCESS_MASS_CANCEL',
  '5': 'ORIG_ORD_MOD_TIME_MISMATCH',
  '6': 'DUPLICATE_CL_ORD_ID',
  '99': 'OTHER',
};

/** CxlRejResponseTo (434). */
export const CXL_REJ_RESPONSE_TO: Readonly<Record<string, string>> = {
  '1': 'ORDER_CANCEL_REQUEST',
  '2': 'ORDER_CANCEL_REPLACE_REQUEST',
};

/** SessionRejectReason (373). */
export const SESSION_REJECT_REASON: Readonly<Record<string, string>> = {
  '0': 'INVALID_TAG_NUMBER',
  '1': 'REQUIRED_TAG_MISSING',
  '2': 'TAG_NOT_DEFINED_FOR_MSG_TYPE',
  '3': 'UNDEFINED_TAG',
  '4': 'TAG_WITHOUT_VALUE',
  '5': 'VALUE_INCORRECT',
  '6': 'INCORRECT_DATA_FORMAT',
  '7': 'DECRYPTION_PROBLEM',
  '8': 'SIGNATURE_PROBLEM',
  '9': 'COMP_ID_PROBLEM',
  '10': 'SENDING_TIME_ACCURACY_PROBLEM',
  '11': 'INVALID_MSG_TYPE',
  '12': 'XML_VALIDATION_ERROR',
  '13': 'TAG_APPEARS_MORE_THAN_ONCE',
  '14': 'TAG_OUT_OF_ORDER',
  '15': 'REPEATING_GROUP_OUT_OF_ORDER',
  '16': 'INCORRECT_NUM_IN_GROUP',
  '17': 'DELIMITER_IN_VALUE',
  '99': 'OTHER',
};

/** BusinessRejectReason (380). */
export const BUSINESS_REJECT_REASON: Readonly<Record<string, string>> = {
  '0': 'OTHER',
  '1': 'UNKNOWN_ID',
  '2': 'UNKNOWN_SECURITY',
  '3': 'UNSUPPORTED_MESSAGE_TYPE',
  '4': 'APPLICATION_NOT_AVAILABLE',
  '5': 'CONDITIONALLY_REQUIRED_FIELD_MISSING',
  '6': 'NOT_AUTHORIZED',
  '7': 'DELIVER_TO_FIRM_NOT_AVAILABLE',
};

/** ApplVerID (1128) → the application version a FIXT.1.1 message carries. */
export const APPL_VER_ID: Readonly<Record<string, string>> = {
  '2': 'FIX.4.0',
  '3': 'FIX.4.1',
  '4': 'FIX.4.2',
  '5': 'FIX.4.3',
  '6': 'FIX.4.4',
  '7': 'FIX.5.0',
  '8': 'FIX.5.0SP1',
  '9': 'FIX.5.0SP2',
};

/**
 * Length fields of FIX "data" fields → the data field they announce. The
 * value of a data field may hold any byte, the delimiter included, so the
 * parser reads exactly that many bytes.
 */
export const DATA_LENGTH_TAGS: ReadonlyMap<number, number> = new Map([
  [90, 91], // SecureDataLen → SecureData
  [93, 89], // SignatureLength → Signature
  [95, 96], // RawDataLength → RawData
  [212, 213], // XmlDataLen → XmlData
  [348, 349], // EncodedIssuerLen
  [350, 351], // EncodedSecurityDescLen
  [352, 353], // EncodedListExecInstLen
  [354, 355], // EncodedTextLen → EncodedText
  [356, 357], // EncodedSubjectLen
  [358, 359], // EncodedHeadlineLen
  [360, 361], // EncodedAllocTextLen
  [362, 363], // EncodedUnderlyingIssuerLen
  [364, 365], // EncodedUnderlyingSecurityDescLen
  [445, 446], // EncodedListStatusTextLen
  [618, 619], // EncodedLegIssuerLen
  [620, 621], // EncodedLegSecurityDescLen
]);

/**
 * NumInGroup fields ("NoXxx") of the standard repeating groups: a tag may
 * repeat only after one of these. Extend with the parser's `groupCountTags`
 * option for venue-specific groups.
 */
export const GROUP_COUNT_TAGS: ReadonlySet<number> = new Set([
  33, // NoLinesOfText
  73, // NoOrders
  78, // NoAllocs
  124, // NoExecs
  136, // NoMiscFees
  146, // NoRelatedSym
  199, // NoIOIQualifiers
  215, // NoRoutingIDs
  232, // NoStipulations
  267, // NoMDEntryTypes
  268, // NoMDEntries
  295, // NoQuoteEntries
  296, // NoQuoteSets
  382, // NoContraBrokers
  384, // NoMsgTypes
  386, // NoTradingSessions
  398, // NoBidDescriptors
  420, // NoBidComponents
  428, // NoStrikes
  453, // NoPartyIDs
  454, // NoSecurityAltID
  457, // NoUnderlyingSecurityAltID
  518, // NoContAmts
  552, // NoSides
  555, // NoLegs
  576, // NoClearingInstructions
  604, // NoLegSecurityAltID
  627, // NoHops
  683, // NoLegStipulations
  702, // NoPositions
  711, // NoUnderlyings
  753, // NoPosAmt
  768, // NoTrdRegTimestamps
  802, // NoPartySubIDs
  864, // NoEvents
  870, // NoInstrAttrib
  887, // NoUnderlyingStips
  936, // NoCompIDs
  957, // NoStrategyParameters
  1116, // NoRootPartyIDs
  1120, // NoRootPartySubIDs
]);

/** Header and trailer tags that may never repeat, groups or not. */
export const NEVER_REPEAT_TAGS: ReadonlySet<number> = new Set([8, 9, 35, 34, 43, 49, 52, 56, 97, 122, 1128]);

/** Known FIX name of a value, or the value itself when it is not in the table (never invented). */
export function lookup(table: Readonly<Record<string, string>>, value: string): string {
  return Object.hasOwn(table, value) ? table[value]! : value;
}
