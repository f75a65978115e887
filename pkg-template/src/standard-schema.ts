// Standard Schema v1 (https://standardschema.dev): form libraries, tRPC and
// other tools that take zod or valibot schemas take these unchanged.

import { encodeEnvelope, validatePrediction, ValidationError } from "./api.js";
import type { CrowdPrediction, CrowdPredictionEnvelope, ErrorCode, FieldError } from "./types.js";

/** The Standard Schema v1 interface, declared here so no package is needed for it. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
    readonly "~standard": {
        readonly version: 1;
        readonly vendor: string;
        readonly validate: (value: unknown) => StandardResult<Output>;
        readonly types?: { readonly input: Input; readonly output: Output } | undefined;
    };
}

/** A Standard Schema result: the value, or the issues. */
export type StandardResult<Output> =
    | { readonly value: Output; readonly issues?: undefined }
    | { readonly issues: ReadonlyArray<StandardIssue> };

/**
 * One Standard Schema issue, with the path as keys and indexes, and the
 * error's stable `code` (SPEC section 4) beside the standard fields.
 */
export interface StandardIssue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey>;
    readonly code?: ErrorCode;
}

function standardSchema<Output>(check: (value: unknown) => Output): StandardSchemaV1<unknown, Output> {
    return {
        "~standard": {
            version: 1,
            vendor: "crowd-envelope",
            validate(value: unknown): StandardResult<Output> {
                try {
                    return { value: check(value) };
                } catch (error) {
                    if (!(error instanceof ValidationError)) throw error;
                    return { issues: error.errors.map(toIssue) };
                }
            },
        },
    };
}

function toIssue({ path, code, message }: FieldError): StandardIssue {
    if (path === "") return { message, code };
    return { message, code, path: path.split(".").map((key) => (/^\d+$/.test(key) ? Number(key) : key)) };
}

/** Validates an envelope object; the output is its canonical form. */
export const envelopeSchema: StandardSchemaV1<unknown, CrowdPredictionEnvelope> = standardSchema((value) =>
    JSON.parse(encodeEnvelope(value as CrowdPredictionEnvelope)) as CrowdPredictionEnvelope,
);

/** Validates a prediction object; the output is its canonical form. */
export const predictionSchema: StandardSchemaV1<unknown, CrowdPrediction> = standardSchema(validatePrediction);

