/* sts.c: the security token service (sts 2018-08-13), as far as clients
 * need it against flowlogd: GetCallerIdentity, which Terraform's provider
 * calls when `allowed_account_ids` is set.
 *
 * The answer follows the real one (API 1312/66098): a permanent key is the
 * account's own (a root account here: Arn qcs::cam::uin/<uin>:uin/<uin>,
 * Type RootAccount, UserId and PrincipalId the uin); a temporary key made
 * by `flowlogd key create --temporary` answers as a federated identity of
 * the account (Arn qcs::sts:<uin>:federated-user/<uin>:flowlogd, UserId
 * <uin>:flowlogd, Type FederatedUser), the shape GetFederationToken's
 * credentials have. */
#include <stdio.h>

#include "api/action.h"

#define FEDERATED_NAME "flowlogd"

enum api_err act_get_caller_identity(struct actx *c, json_t *out, struct apierr *e)
{
    const char *uin = c->account->uin;
    char arn[160], user[96];

    if (c->key && c->key->expires) {
        snprintf(arn, sizeof arn, "qcs::sts:%s:federated-user/%s:" FEDERATED_NAME, uin, uin);
        snprintf(user, sizeof user, "%s:" FEDERATED_NAME, uin);
    } else {
        snprintf(arn, sizeof arn, "qcs::cam::uin/%s:uin/%s", uin, uin);
        snprintf(user, sizeof user, "%s", uin);
    }
    if (json_object_set_new(out, "Arn", json_string(arn)) != 0 ||
        json_object_set_new(out, "AccountId", json_string(uin)) != 0 ||
        json_object_set_new(out, "UserId", json_string(user)) != 0 ||
        json_object_set_new(out, "PrincipalId", json_string(uin)) != 0 ||
        json_object_set_new(out, "Type", json_string(c->key && c->key->expires ? "FederatedUser"
                                                                                 : "RootAccount")) != 0)
        return apierr_set(e, API_E_INTERNAL, NULL);
    return API_E_OK;
}
