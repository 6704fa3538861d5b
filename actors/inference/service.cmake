# svc.inference: the actor that resolves models and runs generations.
troupe_add_component(NAME inference_service
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/inference_service.cpp
  DEPS troupe_inference_registry troupe_inference_client troupe_bus troupe_storage
       troupe_supervision troupe_config caf::core)
