from django.urls import path

from . import views

urlpatterns = [
    path("v1/models", views.models_view, name="openai-models"),
    path("v1/chat/completions", views.chat_completions_view, name="openai-chat-completions"),
]

from . import key_views  # noqa: E402

urlpatterns += [
    path("api-keys/", key_views.api_key_list_view, name="api-keys"),
    path("api-keys/new/", key_views.api_key_create_view, name="api-key-create"),
    path("api-keys/<int:key_id>/revoke/", key_views.api_key_revoke_view, name="api-key-revoke"),
]
