from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("", views.chat_page_view, name="home"),
    path("c/<int:conversation_id>/", views.chat_page_view, name="conversation"),
    path("c/<int:conversation_id>/export.<str:fmt>", views.conversation_export_view, name="export"),
    path("api/conversations/", views.conversation_list_view, name="api-conversations"),
    path("api/conversations/<int:conversation_id>/", views.conversation_detail_view, name="api-conversation"),
    path("api/conversations/<int:conversation_id>/select/", views.conversation_select_view, name="api-select"),
    path("api/conversations/<int:conversation_id>/model/", views.conversation_model_view, name="api-model"),
    path("api/messages/<int:message_id>/", views.message_detail_view, name="api-message"),
    path("api/messages/<int:message_id>/feedback/", views.message_feedback_view, name="api-feedback"),
    path("api/messages/<int:message_id>/report/", views.message_report_view, name="api-report"),
    path("api/chat-defaults/", views.chat_defaults_view, name="api-defaults"),
    path("api/presets/", views.preset_list_view, name="api-presets"),
    path("api/presets/<int:preset_id>/", views.preset_detail_view, name="api-preset"),
]
