// FCM HTTP v1 `POST /v1/projects/{project}/messages:send` for bench/fcm_nginx.py (nginx + njs 0.7).
// The same checks, in the same order, as soulverse/testing/fcm_stub.py's FcmStub._post and _send
// (token modes included), answered after $fcm_latency_ms. The access token is not checked against
// the token endpoint's (the Python stub's) list: any non-empty Bearer token is accepted.

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';
const ANALYTICS_LABEL = /^[a-zA-Z0-9-_.~%]{1,50}$/;
const TARGETS = ['fid', 'token', 'topic', 'condition'];

// FcmError.errorCode -> [HTTP status, google.rpc.Code name, message] (the stub's ERRORS).
const ERRORS = {
    UNREGISTERED: [404, 'NOT_FOUND', 'Requested entity was not found.'],
    SENDER_ID_MISMATCH: [403, 'PERMISSION_DENIED', 'SenderId mismatch'],
    INVALID_ARGUMENT: [400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token'],
    UNAVAILABLE: [503, 'UNAVAILABLE', 'The service is currently unavailable.'],
};
// A target starting with one of these is answered that error (the stub's TOKEN_MODES).
const TOKEN_MODES = [
    ['unregistered', 'UNREGISTERED'],
    ['mismatch', 'SENDER_ID_MISMATCH'],
    ['invalid', 'INVALID_ARGUMENT'],
    ['unavailable', 'UNAVAILABLE'],
];

function status(code, rpcStatus, message, details) {
    const error = {code: code, message: message, status: rpcStatus};
    if (details) {
        error.details = details;
    }
    return [code, {error: error}];
}

function invalidArgument(message, field) {
    const details = [{'@type': FCM_ERROR_TYPE, errorCode: 'INVALID_ARGUMENT'}];
    if (field) {
        details.push({'@type': BAD_REQUEST_TYPE, fieldViolations: [{field: field}]});
    }
    return status(400, 'INVALID_ARGUMENT', message, details);
}

function tokenError(code, target) {
    const error = ERRORS[code];  // njs 0.7 has no destructuring
    let message = error[2];
    const details = [{'@type': FCM_ERROR_TYPE, errorCode: code}];
    if (code === 'INVALID_ARGUMENT') {
        const description = target === 'fid' ? 'Invalid installation ID' : 'Invalid registration token';
        details.push({
            '@type': BAD_REQUEST_TYPE,
            fieldViolations: [{field: `message.${target}`, description: description}],
        });
        if (target === 'fid') {
            message = 'The installation ID is not a valid Firebase installation ID';
        }
    }
    return status(error[0], error[1], message, details);
}

// [HTTP status, body] for one request.
function answer(r) {
    if (r.method !== 'POST') {
        return status(404, 'NOT_FOUND', 'Not found.');
    }
    let body;
    try {
        body = JSON.parse(r.requestText || 'null');
    } catch (e) {
        return status(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    const authorization = r.headersIn.Authorization || '';
    if (!authorization.startsWith('Bearer ') || authorization.length === 'Bearer '.length) {
        return status(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    }
    const project = r.variables.fcm_project;
    if (project !== r.variables.fcm_project_id) {
        return status(403, 'PERMISSION_DENIED', 'Permission denied on project.');
    }
    const message = body !== null && typeof body === 'object' ? body.message : null;
    const isObject = message !== null && typeof message === 'object' && !Array.isArray(message);
    const targets = TARGETS.filter((key) => isObject && message[key]);
    if (targets.length !== 1) {
        return invalidArgument('Exactly one of fid, token, topic or condition is required.');
    }
    const label = (message.fcm_options || {}).analytics_label;
    if (label !== undefined && label !== null && !(typeof label === 'string' && ANALYTICS_LABEL.test(label))) {
        return invalidArgument('Invalid analytics_label.', 'message.fcm_options.analytics_label');
    }
    const kind = targets[0];
    const target = String(message[kind]);
    const mode = TOKEN_MODES.find((entry) => target.startsWith(entry[0]));
    if (mode) {
        return tokenError(mode[1], kind === 'fid' ? 'fid' : 'token');
    }
    // FCM's ids look like "0:1500415314455276%31bd1c9631bd1c96"; $request_id is 32 random hex digits.
    const id = body.validate_only ? 'fake_message_id' : `0:${Date.now()}%${r.variables.request_id}`;
    return [200, {name: `projects/${project}/messages/${id}`}];
}

function reply(r) {
    const result = answer(r);
    r.headersOut['Content-Type'] = 'application/json; charset=UTF-8';
    r.return(result[0], JSON.stringify(result[1]));
}

function send(r) {
    const latency = Number(r.variables.fcm_latency_ms);
    if (latency > 0) {
        setTimeout(reply, latency, r);
    } else {
        reply(r);
    }
}

export default {send};
