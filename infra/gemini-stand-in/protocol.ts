/**
 * The slice of the Gemini REST protocol (v1beta generateContent) the stand-in speaks, in wire field
 * names. The @google/genai SDK maps its `config` to `generationConfig` on the wire.
 */

export interface WireInlineData {
  mimeType?: string;
  data?: string;
}

export interface WirePart {
  text?: string;
  inlineData?: WireInlineData;
  thought?: boolean;
  thoughtSignature?: string;
}

export interface WireContent {
  role?: string;
  parts?: WirePart[];
}

export interface WireGenerateContentRequest {
  contents?: WireContent[];
  /** "flex" asks for the discounted, best-effort Flex tier; "standard" or absent is standard. */
  serviceTier?: string;
  generationConfig?: {
    responseModalities?: string[];
    candidateCount?: number;
    imageConfig?: { aspectRatio?: string; imageSize?: string };
    thinkingConfig?: { thinkingLevel?: string; includeThoughts?: boolean };
  };
  tools?: Array<{ googleSearch?: Record<string, unknown> }>;
}

export interface WireModalityTokens {
  modality: 'TEXT' | 'IMAGE';
  tokenCount: number;
}

export interface WireUsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount: number;
  promptTokensDetails: WireModalityTokens[];
  candidatesTokensDetails?: WireModalityTokens[];
}

export interface WireCandidate {
  content: { role: 'model'; parts?: WirePart[] };
  finishReason: string;
  finishMessage?: string;
  index: number;
  groundingMetadata?: { webSearchQueries: string[]; groundingChunks: unknown[] };
}

export interface WireGenerateContentResponse {
  candidates?: WireCandidate[];
  promptFeedback?: { blockReason: string; blockReasonMessage?: string };
  usageMetadata?: WireUsageMetadata;
  modelVersion: string;
  responseId?: string;
}

/** google.rpc.Code names by HTTP status, as the Gemini API reports them in `error.status`. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  408: 'DEADLINE_EXCEEDED',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
}

/** Messages close to what the real API says for each status. */
const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  400: 'Request contains an invalid argument.',
  401: 'Request had invalid authentication credentials.',
  403: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
  404: 'Requested entity was not found.',
  429: 'You exceeded your current quota, please check your plan and billing details.',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'The model is overloaded. Please try again later.',
  504: 'Deadline expired before operation could complete.',
};

export interface GoogleErrorBody {
  error: { code: number; message: string; status: string; details?: unknown[] };
}

/** Google's error JSON: `{error:{code,message,status,details?}}`. */
export function googleError(code: number, message?: string, details?: unknown[]): GoogleErrorBody {
  return {
    error: {
      code,
      message: message ?? DEFAULT_MESSAGES[code] ?? `Error ${code}`,
      status: statusName(code),
      ...(details && details.length > 0 ? { details } : {}),
    },
  };
}

/** The quota a per-minute 429 names in its QuotaFailure. */
export interface QuotaFailureViolation {
  quotaId: string;
  quotaMetric: string;
  limit: number;
}

/** What a scheduled or directed per-minute 429 names (the stand-in's quota names its own). */
const DEFAULT_PER_MINUTE: QuotaFailureViolation = {
  quotaId: 'GenerateRequestsPerMinutePerProjectPerModel',
  quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests',
  limit: 10,
};

/** The 429 body: RetryInfo (honoured by careful clients) and QuotaFailure, as the real API sends. */
export function quotaError(
  model: string,
  retryDelay: string,
  violation: QuotaFailureViolation = DEFAULT_PER_MINUTE,
): GoogleErrorBody {
  return googleError(
    429,
    `You exceeded your current quota, please check your plan and billing details. Please retry in ${retryDelay}.`,
    [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          {
            quotaMetric: violation.quotaMetric,
            quotaId: violation.quotaId,
            quotaDimensions: { location: 'global', model },
            quotaValue: String(violation.limit),
          },
        ],
      },
      {
        '@type': 'type.googleapis.com/google.rpc.Help',
        links: [
          {
            description: 'Learn more about Gemini API quotas',
            url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
          },
        ],
      },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay },
    ],
  );
}

/** A 429 for an exhausted per-day quota: QuotaFailure ...PerDay..., no RetryInfo (waiting minutes cannot help). */
export function dailyQuotaError(model: string): GoogleErrorBody {
  return googleError(
    429,
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
    [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          {
            quotaMetric: 'generativelanguage.googleapis.com/generate_requests_per_model_per_day',
            quotaId: 'GenerateRequestsPerDayPerProjectPerModel',
            quotaDimensions: { location: 'global', model },
            quotaValue: '250',
          },
        ],
      },
      {
        '@type': 'type.googleapis.com/google.rpc.Help',
        links: [
          {
            description: 'Learn more about Gemini API quotas',
            url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
          },
        ],
      },
    ],
  );
}

/** A 429 for depleted prepaid credits (or a reached spend cap): no RetryInfo, nothing to wait for. */
export function creditsDepletedError(): GoogleErrorBody {
  return googleError(
    429,
    'Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects to manage your project and billing.',
  );
}
