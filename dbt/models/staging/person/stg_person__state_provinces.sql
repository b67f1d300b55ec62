with

source as (

    select * from {{ source('person', 'stateprovince') }}

),

renamed as (

    select
        cast(stateprovinceid as {{ dbt.type_bigint() }}) as state_province_id,
        -- char(3) in the source: drop the padding
        trim(cast(stateprovincecode as {{ dbt.type_string() }})) as state_province_code,
        cast(countryregioncode as {{ dbt.type_string() }}) as country_code,
        cast(isonlystateprovinceflag as {{ dbt.type_boolean() }}) as is_only_state_province,
        cast(name as {{ dbt.type_string() }}) as state_province_name,
        cast(territoryid as {{ dbt.type_bigint() }}) as territory_id,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
