"""The page where a signed-in user makes and revokes API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .models import ApiToken

MAX_TOKENS_PER_USER = 20


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    new_key = None
    error = None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:100]
        if not name:
            error = _("Give the token a name, such as the program that will use it.")
        elif request.user.api_tokens.count() >= MAX_TOKENS_PER_USER:
            error = _("You have %(count)d tokens, the most allowed; revoke one first.") % {"count": MAX_TOKENS_PER_USER}
        else:
            _token, new_key = ApiToken.create(request.user, name)
    return render(request, "api/tokens.html", {
        "tokens": request.user.api_tokens.all(),
        "new_key": new_key,
        "error": error,
    }, status=400 if error else 200)


@login_required
@require_POST
def revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.delete()
    messages.success(request, _("The token “%(name)s” is revoked: programs using it are refused from now on.") % {"name": token.name})
    return redirect("api-tokens")
