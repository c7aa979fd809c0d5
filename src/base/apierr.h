/* apierr.h: the one list of API errors.
 *
 * Every error the service can answer is one row: an internal id, the wire
 * code the SDKs see in Response.Error.Code, and a message template in zh-CN
 * and en-US. Several ids may share a wire code when the cause differs (the
 * message then says which cause). "{}" in a template is replaced by the
 * error's argument: a parameter name, an id, or a short detail. A detail is
 * English text, so a zh-CN template never shows one: it says "{ids}"
 * instead, which gives "：" and the resource ids and CIDR blocks found in
 * the detail, joined by "、" (nothing when there are none). zh-CN messages
 * are thus wholly Chinese, ids and parameter names aside
 * (tests/unit/test_apierr.c checks it).
 *
 * It lives in base/ because auth/, validate/, store/ glue and api/ all return
 * these ids; only api/ renders them.
 */
#ifndef FLOWLOGD_BASE_APIERR_H
#define FLOWLOGD_BASE_APIERR_H

#include <stddef.h>

#define API_ERRORS(X)                                                                            \
    X(OK, "", "", "")                                                                            \
    /* ---- protocol and authentication ---- */                                                  \
    X(ACTION_MISSING, "MissingParameter", "缺少必选参数`Action`。",                               \
      "The request is missing the required parameter `Action`.")                                 \
    X(ACTION_UNKNOWN, "InvalidAction", "接口`{}`不存在。", "The action `{}` does not exist.")       \
    X(VERSION_MISSING, "MissingParameter", "缺少必选参数`Version`。",                             \
      "The request is missing the required parameter `Version`.")                                \
    X(VERSION_UNKNOWN, "NoSuchVersion", "接口版本`{}`不存在。",                                   \
      "The API version `{}` does not exist for this service.")                                   \
    X(REGION_MISSING, "MissingParameter", "缺少必选参数`Region`。",                               \
      "The request is missing the required parameter `Region`.")                                 \
    X(REGION_UNSUPPORTED, "UnsupportedRegion", "接口不支持所传地域`{}`。",                          \
      "The region `{}` is not supported.")                                                       \
    X(PROTOCOL, "UnsupportedProtocol", "请求协议错误：Content-Type 须为 application/json 或 application/x-www-form-urlencoded。", "Unsupported request protocol: {}.")   \
    X(AUTH_INVALID, "AuthFailure.InvalidAuthorization",                                          \
      "请求头部的 Authorization 不符合腾讯云标准。",                                             \
      "`Authorization` in the request is invalid: {}.")                                          \
    X(AUTH_SECRETID, "AuthFailure.SecretIdNotFound",                                             \
      "密钥不存在。请检查密钥是否已被删除或者禁用，或者是否填写正确。",                                  \
      "The SecretId does not exist. Check that the key was not deleted and is entered correctly.") \
    X(AUTH_SIGNATURE, "AuthFailure.SignatureFailure",                                            \
      "签名错误。签名计算错误，请对照调用方式中的签名方法文档检查签名计算过程。",                          \
      "The provided credentials could not be validated. Please check your signature is correct.") \
    X(AUTH_EXPIRED, "AuthFailure.SignatureExpire",                                               \
      "签名过期。Timestamp 和服务器时间相差不得超过五分钟，请检查本地时间是否和标准时间同步。",            \
      "The signature has expired: Timestamp differs from the server time by more than 5 "         \
      "minutes. Check that your clock is in sync.")                                              \
    X(AUTH_TOKEN, "AuthFailure.TokenFailure", "此密钥为永久密钥，请求不能携带 Token。",             \
      "Token error: this SecretId is a permanent key; no token goes with it.")                   \
    X(AUTH_TOKEN_MISSING, "AuthFailure.TokenFailure", "临时密钥的请求必须携带其 Token。",             \
      "Token error: a temporary key needs its token (X-TC-Token).")                              \
    X(AUTH_TOKEN_EXPIRED, "AuthFailure.TokenFailure", "临时密钥已过期。",                            \
      "Token error: the temporary key has expired.")                                             \
    X(AUTH_TOKEN_INVALID, "AuthFailure.TokenFailure", "Token 与临时密钥不匹配。",                    \
      "Token error: the token does not belong to this temporary key.")                           \
    X(UNAUTHORIZED, "UnauthorizedOperation", "未授权操作：此密钥不允许调用`{}`。",                  \
      "Unauthorized operation: this key may not call `{}`.")                                     \
    X(RATE_LIMITED, "RequestLimitExceeded", "请求的次数超过了频率限制（`{}`）。",                   \
      "The request rate limit was exceeded for `{}`.")                                           \
    X(TOO_LARGE, "RequestSizeLimitExceeded", "请求包超过限制大小。",                          \
      "The request exceeds the size limit: {}.")                                                 \
    /* ---- input mapping ---- */                                                                \
    X(BODY_NOT_OBJECT, "InvalidParameter", "请求体不是合法的 JSON 对象。",                     \
      "The request body is not a valid JSON object: {}.")                                        \
    X(PARAM_TYPE, "InvalidParameter", "参数`{}`的类型错误。",                                     \
      "The parameter `{}` has the wrong type.")                                                  \
    X(PARAM_UNKNOWN, "UnknownParameter", "未定义的参数`{}`。",                                    \
      "The parameter `{}` is not defined for this action.")                                      \
    X(PARAM_MISSING, "MissingParameter", "缺少必选参数`{}`。",                                     \
      "The request is missing the required parameter `{}`.")                                     \
    X(PARAM_COEXIST, "InvalidParameter", "参数不能同时指定：{}。",                                 \
      "These parameters cannot be combined: {}.")                                                \
    X(PARAM_COEXIST2, "InvalidParameter.Coexist", "参数不能同时指定：{}。",                        \
      "These parameters cannot be combined: {}.")                                                \
    X(FILTER_KEY, "InvalidParameter.FilterInvalidKey", "指定过滤条件`{}`不存在。",                  \
      "The filter `{}` does not exist for this action.")                                         \
    /* ---- values ---- */                                                                       \
    X(VALUE_EMPTY, "InvalidParameterValue.Empty", "参数`{}`不能为空。",                            \
      "The parameter `{}` must not be empty.")                                                   \
    X(VALUE_RANGE, "InvalidParameterValue.Range", "参数`{}`的取值不在指定范围内。",                  \
      "The value of `{}` is out of range.")                                                      \
    X(VALUE_MALFORMED, "InvalidParameterValue.Malformed", "参数`{}`的格式不合法。",                \
      "The value of `{}` is malformed.")                                                         \
    X(VALUE_LIMIT, "InvalidParameterValue.LimitExceeded", "参数`{}`的个数超过上限。",              \
      "Too many values in `{}`.")                                                                \
    X(VALUE_TOOLONG, "InvalidParameterValue.TooLong", "参数`{}`的取值太长。",                      \
      "The value of `{}` is too long.")                                                          \
    X(VALUE_DUPLICATE, "InvalidParameterValue.Duplicate", "参数`{}`的取值重复。",                  \
      "The parameter `{}` has duplicate values.")                                                \
    X(VPCID_NOT_NEEDED, "InvalidParameterValue.VpcIdNotNeededForFlowLog",                        \
      "云联网流日志不能输入VPC唯一ID（`VpcId`）。",                                                 \
      "`VpcId` must not be given for a flow log of a CCN.")                                      \
    X(PARAM_VALUE, "InvalidParameterValue", "参数`{}`的取值错误。",                                \
      "The value of `{}` is invalid.")                                                           \
    /* ---- tags ---- */                                                                         \
    X(TAG_TOO_MANY, "LimitExceeded.TagKeyPerResourceExceeded",                                   \
      "每个资源的标签键已达到上限（50个）。", "A resource can have at most 50 tag keys.")           \
    X(TAG_DUP_KEY, "InvalidParameterValue.TagDuplicateKey", "标签键`{}`重复。",                    \
      "The tag key `{}` is given more than once.")                                               \
    X(TAG_KEY_LEN, "InvalidParameterValue.TagInvalidKeyLen",                                     \
      "标签键长度无效：{}（长度须为1到127个字符）。",                                                \
      "Invalid tag key length: {} (a key has 1 to 127 characters).")                             \
    X(TAG_RESERVED, "UnsupportedOperation.TagSystemReservedTagKey",                              \
      "不支持使用系统预留的标签键`{}`。", "The tag key `{}` is reserved by the system.")            \
    X(TAG_KEY, "InvalidParameterValue.TagInvalidKey", "标签键`{}`含有不允许的字符。",              \
      "The tag key `{}` contains characters that are not allowed.")                              \
    X(TAG_VAL, "InvalidParameterValue.TagInvalidVal",                                            \
      "标签值无效：{}（最多255个字符，只允许字母、数字、空格、中文和 +-=._:/@()[]（）【】）。",          \
      "Invalid tag value: {} (at most 255 characters: letters, digits, spaces, CJK and "         \
      "+-=._:/@()[]（）【】).")                                                                    \
    X(TAG_RESOURCE_FORMAT, "InvalidParameterValue.ResourceDescriptionError",                     \
      "资源描述错误：`{}`不是合法的六段式资源描述。",                                                 \
      "The resource name `{}` is not a valid six-segment name.")                                 \
    X(TAG_KEY_NOT_EXISTS, "InvalidParameterValue.TagKeyNotExists", "标签键`{}`不存在。",           \
      "The tag key `{}` does not exist.")                                                        \
    /* ---- tag service (tag 2018-08-13 codes; {} names the parameter as the action spells it) */ \
    X(TAGSVC_KEY_EMPTY, "InvalidParameterValue.TagKeyEmpty", "标签键`{}`不能为空值。",              \
      "The tag key `{}` must not be empty.")                                                     \
    X(TAGSVC_KEY_LEN, "InvalidParameterValue.TagKeyLengthExceeded",                              \
      "标签键`{}`长度超过限制（最多127个字符）。", "The tag key `{}` is longer than 127 characters.") \
    X(TAGSVC_KEY_CHARS, "InvalidParameterValue.TagKeyCharacterIllegal",                          \
      "标签键`{}`包含非法字符。", "The tag key `{}` contains characters that are not allowed.")    \
    X(TAGSVC_KEY_DUP, "InvalidParameterValue.TagKeyDuplicate", "标签键`{}`与之前的标签键重复。",    \
      "The tag key `{}` repeats an earlier one.")                                                \
    X(TAGSVC_RESERVED, "InvalidParameter.ReservedTagKey",                                        \
      "标签键`{}`为系统预留标签键（以 qcloud、tencent 或 project 开头），禁止创建。",                  \
      "The tag key `{}` is reserved (it starts with qcloud, tencent or project).")               \
    X(TAGSVC_VAL_LEN, "InvalidParameterValue.TagValueLengthExceeded",                            \
      "标签值`{}`长度超过限制（最多255个字符）。", "The tag value `{}` is longer than 255 characters.") \
    X(TAGSVC_VAL_CHARS, "InvalidParameterValue.TagValueCharacterIllegal",                        \
      "标签值`{}`包含非法字符。", "The tag value `{}` contains characters that are not allowed.")  \
    X(TAGSVC_ATTACHED, "LimitExceeded.ResourceAttachedTags",                                     \
      "资源`{}`关联的标签数超过限制（50个）。", "The resource `{}` would have more than 50 tags.")  \
    X(TAGSVC_NO_RESOURCE, "InvalidParameterValue.ResourceDescriptionError",                      \
      "资源描述错误：资源`{}`不存在。", "The resource `{}` does not exist.")                        \
    X(TAG_UNSUPPORTED_SERVICE, "InvalidParameter.UnsupportedService",                            \
      "当前业务不支持标签操作：`{}`（仅支持流日志 qcs::vpc:<地域>:uin/<账号>:fl/<流日志ID>）。",      \
      "Tagging `{}` is not supported here (only flow logs: "                                     \
      "qcs::vpc:<region>:uin/<uin>:fl/<FlowLogId>).")                                            \
    X(TAG_RES_PER_REQ, "LimitExceeded.ResourceNumPerRequest", "单次请求的资源数达到上限（`{}`）。",  \
      "Too many resources in one request (`{}`).")                                               \
    X(TAG_NUM_PER_REQ, "LimitExceeded.TagNumPerRequest", "单次请求的标签数超过上限（`{}`）。",       \
      "Too many tags in one request (`{}`).")                                                    \
    X(TAG_DELETE_CONFLICT, "InvalidParameterValue.DeleteTagsParamError",                         \
      "DeleteTags中不能包含ReplaceTags中的标签键`{}`。",                                            \
      "The tag key `{}` is in both ReplaceTags and DeleteTags.")                                 \
    X(TAG_SERVICE_TYPE, "InvalidParameterValue.ServiceTypeInvalid", "业务类型`{}`错误。",         \
      "The service type `{}` is invalid (vpc is served).")                                       \
    X(TAG_PREFIX, "InvalidParameterValue.ResourcePrefixInvalid", "资源前缀`{}`错误。",            \
      "The resource prefix `{}` is invalid (fl is served).")                                     \
    X(TAG_REGION, "InvalidParameterValue.RegionInvalid", "地域`{}`错误。",                        \
      "The region `{}` is invalid.")                                                             \
    X(TAG_RESOURCE_ID, "InvalidParameterValue.ResourceIdInvalid", "资源Id`{}`错误。",             \
      "The resource id `{}` is invalid.")                                                        \
    X(TAG_TOKEN, "InvalidParameter.PaginationTokenInvalid", "PaginationToken参数非法：`{}`。",     \
      "The PaginationToken `{}` is invalid.")                                                    \
    /* ---- state ---- */                                                                        \
    X(NOT_FOUND, "ResourceNotFound", "资源不存在：{}。", "The resource does not exist: {}.")       \
    X(IN_USE, "ResourceInUse", "资源被占用{ids}。", "The resource is in use: {}.")                  \
    X(LIMIT, "LimitExceeded", "超过配额限制{ids}。", "Quota exceeded: {}.")                         \
    X(ENI_NO_INSTANCE, "UnsupportedOperation.FlowLogsNotSupportNullInstanceEni",                 \
      "不支持创建流日志：当前弹性网卡`{}`未绑定实例。",                                               \
      "Flow logs are not supported on `{}`: the ENI is not attached to an instance.")            \
    X(ENI_KO, "UnsupportedOperation.FlowLogsNotSupportKoInstanceEni",                            \
      "不支持创建流日志：当前弹性网卡`{}`绑定的是KO机型。",                                           \
      "Flow logs are not supported on `{}`: the ENI is attached to a KO instance.")              \
    X(DPDK_NAT_ALL, "UnsupportedOperation.DpdkNatFlowLogOnlySupportAllTrafficType",              \
      "创建DPDK NAT（`{}`）流日志时，采集类型只支持ALL。",                                            \
      "A flow log of the standard (DPDK) NAT gateway `{}` supports only TrafficType ALL.")       \
    X(NAT_DNAT, "UnsupportedOperation.NatGatewayDnatAndFlowLogConflict",                         \
      "传统型NAT网关`{}`暂不支持同时创建DNAT规则和开通流日志功能。",                                   \
      "The classic NAT gateway `{}` has DNAT rules and cannot also have a flow log.")            \
    X(KAFKA_EDITION, "UnsupportedOperation.OnlySupportProfessionKafka",                          \
      "仅支持专业版Ckafka，`{}`不是专业版。", "Only profession-edition CKafka is supported: `{}` is not.") \
    X(FLOWLOG_EXISTS, "UnsupportedOperation.FlowLogInstanceExisted",                             \
      "指定ResourceId（`{}`）对应的流日志已经创建。", "A flow log already exists for the resource `{}`.") \
    X(CCN_HAS_FLOWLOG, "UnsupportedOperation.CcnHasFlowLog", "云联网`{}`已有流日志，不能删除。",   \
      "The CCN `{}` has a flow log and cannot be deleted.")                                      \
    X(DCG_HAS_FLOWLOG, "UnsupportedOperation.DcgHasFlowLog", "专线网关`{}`已有流日志，不能删除。", \
      "The direct connect gateway `{}` has a flow log and cannot be deleted.")                   \
    X(UNSUPPORTED, "UnsupportedOperation", "操作不支持{ids}。", "Unsupported operation: {}.")       \
    X(SUBNET_RANGE, "InvalidParameterValue.SubnetRange", "子网CIDR不合法{ids}（掩码须为/16到/28，且须在所属VPC的网段内）。",                   \
      "The subnet CIDR is not valid: {}.")                                                       \
    X(SUBNET_CONFLICT, "InvalidParameterValue.SubnetConflict", "子网CIDR与已有子网冲突{ids}。",               \
      "The subnet CIDR conflicts: {}.")                                                          \
    X(ATTACH_EXISTS, "UnsupportedOperation.AttachmentAlreadyExists", "绑定关系已存在{ids}。",       \
      "The attachment already exists: {}.")                                                      \
    X(INVALID_STATE, "UnsupportedOperation.InvalidState", "资源状态不合法{ids}。",                  \
      "The resource is not in a state that allows this: {}.")                                    \
    /* ---- the cls service (tencentcloud-sdk-go cls/v20201016/errors.go) ---- */               \
    X(CLS_CONTENT, "InvalidParameter.Content", "无效的日志内容。", "Invalid content: {}.")          \
    X(CLS_MISSING_CONTENT, "FailedOperation.MissingContent", "日志内容为空。",                    \
      "Missing content: {}.")                                                                    \
    X(CLS_LOG_SIZE, "LimitExceeded.LogSize", "日志大小超过限制。", "Log size over the limit: {}.")  \
    X(CLS_TOPIC_NOTFOUND, "ResourceNotFound.TopicNotExist", "日志主题不存在。",                    \
      "The topic `{}` does not exist.")                                                          \
    X(CLS_LOGSET_NOTFOUND, "ResourceNotFound.LogsetNotExist", "指定的日志集不存在。",              \
      "The logset `{}` does not exist.")                                                         \
    X(CLS_LOGSET_NOT_EMPTY, "FailedOperation.LogsetNotEmpty", "日志集下存在日志主题。",            \
      "The logset `{}` still has topics.")                                                       \
    X(CLS_LOGSET_CONFLICT, "InvalidParameter.LogsetConflict", "相同的日志集已存在。",              \
      "A logset with this name or id already exists: {}.")                                       \
    X(CLS_TOPIC_CONFLICT, "InvalidParameter.TopicConflict", "指定日志集下已经有同名的日志主题。",  \
      "A topic with this name or id already exists: {}.")                                        \
    X(CLS_LOGSET_LIMIT, "LimitExceeded.Logset", "日志集数量超出限制。",                           \
      "Too many logsets: {}.")                                                                   \
    X(CLS_TOPIC_LIMIT, "LimitExceeded.Topic", "日志主题数目超过限制。", "Too many topics: {}.")     \
    X(CLS_TOPIC_CLOSED, "FailedOperation.TopicClosed", "日志主题已关闭。",                        \
      "The topic `{}` is closed.")                                                               \
    X(CLS_SYNTAX, "FailedOperation.SyntaxError", "查询语句解析错误。", "Syntax error: {}.")        \
    X(CLS_QUERY, "FailedOperation.QueryError", "查询语句运行失败。", "The query failed: {}.")      \
    X(CLS_CONTEXT, "FailedOperation.InvalidContext", "检索游标已失效或不存在。",                  \
      "The search context is invalid: {}.")                                                      \
    X(CLS_SEARCH_RESOURCES, "LimitExceeded.SearchResources", "检索内存超限。",                    \
      "The search is over its limits: {}.")                                                      \
    X(CLS_TIMEOUT, "FailedOperation.SearchTimeout", "查询超时。", "The search timed out: {}.")   \
    X(CLS_REACH_LIMIT, "FailedOperation.GetlogReachLimit", "检索日志触发最大条数限制。",          \
      "The search reached a limit: {}.")                                                         \
    X(CLS_RESULT_TOO_LARGE, "LimitExceeded.SearchResultTooLarge", "检索结果过大。",               \
      "The search result is too large: {}.")                                                     \
    X(CLS_PERIOD, "FailedOperation.InvalidPeriod", "存储时间不合法。",                            \
      "Invalid Period: {}.")                                                                     \
    /* ---- server ---- */                                                                       \
    X(STORE, "InternalError.ModuleError", "内部模块错误，请稍后重试。",                             \
      "Internal module error. Please try again later.")                                          \
    X(INTERNAL, "InternalError", "内部错误。", "Internal error.")

#define X(id, code, zh, en) API_E_##id,
enum api_err { API_ERRORS(X) API_E__COUNT };
#undef X

enum api_lang { LANG_ZH = 0, LANG_EN = 1 };

/** An API error with its argument: what the layers below api/ hand up.
 * Caller-owned, no allocation; `arg` is truncated if longer. */
struct apierr {
    enum api_err id;
    char arg[256];
};

/** Sets e->id and copies `arg` (may be NULL) into e->arg. Returns `id` so a
 * caller can write `return apierr_set(e, API_E_PARAM_MISSING, "VpcId");`. */
enum api_err apierr_set(struct apierr *e, enum api_err id, const char *arg);

/** Like apierr_set, with a printf-style argument. */
enum api_err apierr_setf(struct apierr *e, enum api_err id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** The wire code, e.g. "AuthFailure.SignatureFailure". Static storage. */
const char *apierr_code(enum api_err id);

/** Renders the message of `id` in `lang` with "{}" replaced by `arg` (NULL is
 * treated as ""), into out[outlen], always NUL-terminated. Returns the length
 * written. */
size_t apierr_message(enum api_err id, enum api_lang lang, const char *arg, char *out,
                      size_t outlen);

#endif
